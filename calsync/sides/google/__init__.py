"""Google side adapters: Calendar v3 and Tasks v1 over httpx, OAuth, mapping, errors.

Build one user's calendar side with `calsync.sides.google.factory.calendar_side` (or by hand:
RefreshTokenAuth -> GoogleHttp -> GoogleCalendarSide / GoogleTasksSide).
"""
