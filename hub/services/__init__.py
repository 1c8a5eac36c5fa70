"""The use cases other than the door: attendance admin, attendees, sessions, housekeeping."""
