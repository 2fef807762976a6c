"""Who matches a fact against the rules: the native matcher, and durable_rules."""
