"""Gateway truth: webhook events (``apply_event``) and reconciliation (``sync``)."""
