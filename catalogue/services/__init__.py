"""The registry of statistical services: records, permissions, reads, the workflow, and their pages."""
