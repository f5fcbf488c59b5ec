"""The reviewers' pages: the queue of versions awaiting review, and the review of one version.

The workflow itself (state machine, permissions, decisions) lives in catalogue/services/registry.py.
"""
