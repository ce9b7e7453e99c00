"""The lake's tools: plain typed functions, usable without the agent.

``REGISTRY`` (in ``modellake.tools.registry``) lists the ones the agent may call.
"""
