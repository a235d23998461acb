"""Where handlers are registered: guards first, then red-flag triage, then everything else."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.handlers import (
    admin,
    contact,
    content,
    fallback,
    guards,
    privacy,
    safety,
    safety_check,
    schedule,
    start,
    walks,
)

GROUP_PRIVATE = -3
GROUP_TRIAGE = -2
GROUP_FLOOD = -1
GROUP_MAIN = 0

MEDIA = (
    filters.Sticker.ALL | filters.PHOTO | filters.VOICE | filters.VIDEO | filters.AUDIO
    | filters.Document.ALL | filters.ANIMATION | filters.VIDEO_NOTE | filters.CONTACT
    | filters.POLL | filters.Dice.ALL | filters.VENUE | filters.GAME
)  # fmt: skip


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Wire every handler; what each does lives in its module."""
    add = application.add_handler
    add(ChatMemberHandler(start.on_membership, ChatMemberHandler.MY_CHAT_MEMBER), GROUP_PRIVATE)
    add(MessageHandler(filters.ALL, guards.private_only), GROUP_PRIVATE)
    add(CallbackQueryHandler(guards.private_only), GROUP_PRIVATE)
    text_like = (filters.TEXT | filters.CAPTION) & filters.UpdateType.MESSAGES
    add(MessageHandler(text_like, safety.triage_text), GROUP_TRIAGE)
    add(CallbackQueryHandler(guards.forged_callback), GROUP_TRIAGE)
    add(MessageHandler(filters.ALL, guards.flood_control), GROUP_FLOOD)
    add(CallbackQueryHandler(guards.flood_control), GROUP_FLOOD)

    commands = {
        "start": start.start, "help": start.help_cmd, "stop": start.stop_cmd,
        "timezone": start.timezone_cmd, "language": start.language_cmd,
        "morning": schedule.morning, "evening": schedule.evening, "meals": schedule.meals,
        "aftermeal": schedule.aftermeal, "ate": schedule.ate, "schedule": schedule.schedule, "limit": schedule.limit,
        "pause": schedule.pause, "resume": schedule.resume, "quiet": schedule.quiet,
        "posture": content.posture, "stretch": content.stretch,
        "log": walks.log_cmd, "pain": walks.pain_cmd, "progress": walks.progress_cmd,
        "symptoms": safety.symptoms, "redflags": safety.redflag_list, "sos": safety.redflag_list,
        "help_now": safety.redflag_list, "export": privacy.export_cmd, "delete": privacy.delete_cmd,
        "contact": contact.contact_cmd, "stats": admin.stats, "escalations": admin.escalations, "broadcast": admin.broadcast,
    }  # fmt: skip
    new_messages = filters.UpdateType.MESSAGE
    for name, callback in commands.items():
        add(CommandHandler(name, callback, filters=new_messages), GROUP_MAIN)
    add(MessageHandler(filters.UpdateType.EDITED, fallback.on_edit), GROUP_MAIN)
    add(MessageHandler(filters.COMMAND, fallback.on_unknown_command), GROUP_MAIN)
    add(MessageHandler(filters.LOCATION, start.on_location), GROUP_MAIN)
    add(MessageHandler(MEDIA, fallback.on_media), GROUP_MAIN)
    add(MessageHandler(safety_check.TYPED_ANSWER, safety_check.on_typed_answer), GROUP_MAIN)
    add(MessageHandler(filters.TEXT, fallback.on_text), GROUP_MAIN)

    buttons = {
        r"^ob:": start.on_onboarding_button, r"^lang:": start.on_language_button,
        r"^rf:pin$": safety.pin_list, r"^rf:": safety.on_redflag_button,
        r"^op:ack:": safety.on_operator_ack, r"^w:": walks.on_walk_button, r"^mc:": walks.on_morning_check,
        r"^sch:": schedule.on_schedule_button, r"^sc:": safety_check.on_check_button,
        r"^ct:[yn]:": contact.on_contact_button,
        r"^del:": privacy.on_delete_button, r"^adm:": admin.on_broadcast_button,
    }  # fmt: skip
    for pattern, callback in buttons.items():
        add(CallbackQueryHandler(callback, pattern=pattern), GROUP_MAIN)
    add(CallbackQueryHandler(fallback.on_stale_button), GROUP_MAIN)
    application.add_error_handler(fallback.on_error)  # type: ignore[arg-type]
