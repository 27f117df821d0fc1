"""Project commands for ``scrapy`` (``COMMANDS_MODULE = "harvester.commands"``)."""
