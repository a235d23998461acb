"""Safety, in one place: what happens when someone reports a red flag (clinical spec §5).

Read in this order:
  lifecycle.py  the episode's states and the one table of (state, event) -> (state, action)
  checkins.py   when check-ins and the "no response" alert go out
  texts.py      what the person and the clinic are told (numbers filled in, flags in words)
  outbox.py     every safety message is stored before it is sent, in the priority lane
  episodes.py   the service: open or raise an episode, ask once, answer, close
  safety_check.py  answers to the weekly one-tap safety check (spec §5.4; jobs/safety_check.py
                sends it): a "yes" and its sign go into episodes.raise_flag
The detector is bot/triage.py (assess(text, lang) -> Assessment); the Telegram side is
bot/handlers/safety.py, which calls it in one place (`detect`).
"""
