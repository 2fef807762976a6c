"""The testing kit for hosts: hypothesis strategies in ``strategies``."""
