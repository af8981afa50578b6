"""The trainers' tools: the inbox of unsure messages, the scrubber, accepting labelled
examples, the NLU report page and the model reload (docs/trainers.md)."""
