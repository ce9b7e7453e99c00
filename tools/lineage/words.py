"""Lineage relations in words: "X was fine-tuned from Y", "a quantized copy"."""

# how a child came from its parent, in words: "X was <verb> Y"
VERBS = {"finetune": "fine-tuned from", "adapter": "an adapter trained on",
         "quantized": "quantized from", "pruned": "pruned from", "merge": "merged from",
         "duplicate": "a copy of", "converted": "converted (ONNX or another format) from",
         "declared": "declared by its card as derived from"}
NOUNS = {"finetune": "a fine-tune", "adapter": "an adapter", "quantized": "a quantized copy",
         "pruned": "a pruned copy", "merge": "a merge", "duplicate": "a copy",
         "converted": "a converted copy", "declared": "a declared derivative"}
