"""The offline planner of the ``builtin`` backend: question -> plan over the lake's tools -> answer.

:mod:`.reading` reads a question (models named, relation, ranking, count, facts, task words,
words that point back), :mod:`.compose` turns a reading into tool calls (composing the
``query_models`` operations, or routing to the declared tool that fits, :mod:`.route`), and
:mod:`.answer` puts the results' own words in order. Nothing here names a tool but the lake
query it composes; everything else is read from the tools' declarations.
"""
