# A host enables the escalation-policy testing kit explicitly; it is never loaded on its own.
pytest_plugins = ["escalation_policy.testing"]
