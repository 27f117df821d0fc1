"""Spiders: thin. Provider knowledge is in :mod:`harvester.apis`, arguments are
validated once in each spider's ``Arguments`` model
(:mod:`harvester.spiders.arguments`)."""
