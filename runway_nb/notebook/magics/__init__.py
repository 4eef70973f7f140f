"""The parts of ``%%runway`` / ``%runway``; :mod:`runway_nb.notebook.magic` puts them together.

- :mod:`.arguments`: IPython's ``magic_arguments`` decorators with types, and the one way every
  parser here reports a bad option.
- :mod:`.values`: option values (comma lists, variables, media) into request values.
- :mod:`.submit`: what ``%%runway`` does with its parsed options.
- :mod:`.line`: the ``%runway`` subcommands' table and dispatch; one module per group of
  subcommands (:mod:`.tasks`, :mod:`.config`, :mod:`.credits`, :mod:`.journal`, :mod:`.panel`).

Nothing heavy is imported at module level, so ``%load_ext runway_nb`` stays fast.
"""
