"""The reviewers' pages: the queue of versions awaiting review, and the review of one version.

The workflow itself (state machine, decisions) lives in catalogue/services/workflow.py, who may review
in catalogue/services/permissions.py.
"""
