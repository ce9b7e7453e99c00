"""The demo lake: real MiniLM fine-tunes, an int8 copy, a pruned copy, a merge, real GGUFs.

Not a capability of the lake but a builder of an example lake (``modellake demo``):
:mod:`.train` fine-tunes encoders, :mod:`.files` reads and writes their weight and side
files, :mod:`.build` assembles the models with their ground truth.
"""
