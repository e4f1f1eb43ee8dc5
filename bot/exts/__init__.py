"""histbot's features, one extension each, loaded by name by `HistBot.setup_hook`: every
module or package here with an `async def setup(bot)`.

    ask        /ask, and "Other matches" under an answer
    search     /search, with page buttons for the person who searched
    passages   /passage, /sources, /random, /help, and the passage buttons under answers
    mentions   questions in messages: mentions, replies to answers, DMs
    study      study sessions in threads: reading, questions, quizzes, transcripts

No extension imports another: what two of them share lives below them, in `bot.ui`,
`bot.replies`, `bot.rendering` or `bot.storage`. Each registers its own buttons.
"""
