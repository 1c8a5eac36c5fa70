"""Who is asking and what they may do: principals, accounts, cookies, throttles."""
