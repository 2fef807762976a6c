"""What the policy language (``vocabulary``, ``model``, ``calendar``, ``periods``) is built
on: typed values, frozen classes, generated code, the context rules compare, and wording."""
