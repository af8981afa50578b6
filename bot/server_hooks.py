"""What `rasa run` patches into Rasa 3.6 for speed, in one place.

Called when the channels build their routes (channels/rest.py, webchat.py,
webhook.py), so `rasa train` and `rasa test` keep Rasa's own behaviour; each
patch does what Rasa does, only cheaper, and is measured in `make bench-load`.
"""

from __future__ import annotations

from bot import action_validation, parse_offload


def install() -> None:
    """NLU parsing off the event loop; the action server's answers checked with one
    compiled validator."""
    parse_offload.install()
    action_validation.install()
