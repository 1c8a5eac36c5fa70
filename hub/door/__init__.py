"""The door: check-in and check-out, group-committed per session (``service``), decided by
the domain's rules (``decide``), read and written in bulk (``store`` over ``storage.door``)."""
