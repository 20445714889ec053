"""One router per resource: auth, admin, me (the user's sync page), oauth, health."""
