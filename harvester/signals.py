"""Signals of the harvester.

``dead_letter``: sent with ``dead_letter=<harvester.items.DeadLetter>`` for every
response or record that could not be parsed or validated; the storage pipeline
keeps them in the ``dead_letters`` table.
"""

dead_letter = object()
