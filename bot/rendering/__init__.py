"""What histbot shows: text, embeds and button specs, as pure functions of knowledge values.

Nothing here talks to Discord or the library: every function takes plain values (Answer,
Hit, Passage, ...) and returns text, an embed or `ButtonSpec`s, so Discord's limits are kept
(and unit-tested) in one place.

    text      Discord's limits; escaping, cutting at a sentence, pages, error lines, choices
    buttons   custom-id formats and the buttons under answers and passages (`ButtonSpec`)
    embeds    the embeds of answers, passages, searches, sources and help

Reading values back from messages the bot sent (a footer's reference, a search's query) is
`bot.inputs`' job.
"""
