"""Talking to the API: the base streams and their request path (session, pacing, retries,
response checks), the reading of responses and pages, and the fetching of windows on threads."""
