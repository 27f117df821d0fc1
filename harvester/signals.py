"""Signals of the harvester.

``dead_letter``: sent with ``dead_letter=<harvester.items.DeadLetter>`` for every
response or record that could not be parsed or validated; the storage pipeline
keeps them in the ``dead_letters`` table.
"""

dead_letter = object()

#: Sent by the error middleware with ``request=`` and ``error=<ApiError>`` (and an
#: optional ``factor=``) when an API answered "too many requests" or failed
#: transiently: the throttle extension backs that request's slot off.
api_backoff = object()

#: Sent by the error middleware with ``request=`` and ``response=`` for every API
#: answer it judged successful (AutoThrottle adapts the slot on these only).
api_answer = object()
