"""Check the action server's answers against Rasa's schema with one compiled validator.

Rasa 3.6 checks every answer of the action server against a fixed JSON schema
(`RemoteAction._validate_action_result`) with `jsonschema.validate(result, schema)`,
which first validates the *schema itself* against the JSON Schema meta-schema, every
time. That self-check walks the large events schema and cost more than the check of
the answer: in `make bench-load`'s profile it was about a third of the Rasa process's
time on FAQ conversations (one action per message), all of it on the event loop.

`install()` makes Rasa check the schema once and keep the validator: every answer is
still validated against the same schema, with the same error (the best match, with
Rasa's hint appended). The stock bot pays nothing here because it has no custom
actions; this assistant calls its action server on almost every turn.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_stock_validate: Any = None


def install() -> bool:
    """Patch `RemoteAction._validate_action_result` once; True when it is in place."""
    global _stock_validate
    if _stock_validate is not None:
        return True
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate does every time
    validator = validator_class(schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about the "
            f"format visit {DOCS_BASE_URL}/custom-actions")
        raise error

    validate_action_result.__doc__ = RemoteAction._validate_action_result.__doc__
    _stock_validate = RemoteAction._validate_action_result
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    logger.info("Action server answers are checked with one compiled JSON schema validator")
    return True


def uninstall() -> None:
    """Give Rasa its own validation back (tests)."""
    global _stock_validate
    if _stock_validate is None:
        return
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _stock_validate  # type: ignore[method-assign]
    _stock_validate = None
