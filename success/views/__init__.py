"""The customer success pages: the CSM's workspace, organization and task pages
(workspace.py, agents and admins) and the reports (reports.py, admins)."""
