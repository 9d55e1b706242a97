"""Workflow state machines (DESIGN §5): what the operator is asked, what each scan does."""
