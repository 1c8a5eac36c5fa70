"""The browser endpoints: pages, sign-in, page data and admin routes. No SQL here."""
