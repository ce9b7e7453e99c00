"""Vocabularies shared by card facets and query parsing: tasks, languages, licenses,
libraries, architectures, quantization. Data only, plus a few normalizers.
"""
from __future__ import annotations

import re

# -- questions about results themselves ("what did we measure on sentiment last week") -----
RESULT_WORDS = (r"\b(?:measur\w*|ran|runs?|evaluat\w*|benchmark\w*|results?|scores?|metrics?|"
                r"accuracy|f1|spearman|perplexity)\b")
TIME_WINDOW = (r"\b(?:today|yesterday|(?:last|past|this) (?:week|month|year)|since \d{4}-\d\d-\d\d|"
               r"(?:last|past|in the last) \d+ (?:days?|weeks?|months?))\b")

# -- tasks ---------------------------------------------------------------------------
# Hub pipeline tags that answer the same need: a query for one accepts the others.
TASK_GROUPS: dict[str, set[str]] = {
    "sentence-similarity": {"sentence-similarity", "feature-extraction"},
    "feature-extraction": {"feature-extraction", "sentence-similarity"},
    "text-generation": {"text-generation", "text2text-generation", "image-text-to-text",
                        "conversational"},
    "summarization": {"summarization", "text2text-generation"},
    "translation": {"translation", "text2text-generation"},
    "zero-shot-classification": {"zero-shot-classification", "text-classification"},
    # a reranker's card says text-ranking, text-classification or sentence-similarity
    "text-ranking": {"text-ranking", "text-classification", "sentence-similarity"},
    "object-detection": {"object-detection", "zero-shot-object-detection"},
    "zero-shot-object-detection": {"zero-shot-object-detection", "object-detection"},
    "text-to-speech": {"text-to-speech", "text-to-audio"},
    "tabular": {"tabular-classification", "tabular-regression"},
    "question-answering": {"question-answering", "document-question-answering",
                           "visual-question-answering", "table-question-answering"},
    "image-text-to-text": {"image-text-to-text", "visual-question-answering", "image-to-text"},
    "image-feature-extraction": {"image-feature-extraction", "feature-extraction",
                                 "image-classification"},
}


def task_group(task: str) -> set[str]:
    return TASK_GROUPS.get(task, {task})


# query phrase (regex, lowercase) -> (pipeline tag, hard?). Hard: the phrase names the task
# unambiguously, so a model known to do another task is not returned. Soft: a ranking boost.
# a generative language model said loosely (the agent's card-task reading uses it too)
GENERATIVE = (r"\bgenerative (?:lms?|models?|language models?|transformers?)\b|\bcausal lms?\b|"
              r"\bdecoder[- ]only\b|\btext generators?\b")
TASK_PHRASES: list[tuple[str, str, bool]] = [
    (r"\b(sentence|text|semantic)[- ]embeddings?\b|\bembedding models?\b|\bsentence[- ]similarity\b",
     "sentence-similarity", True),
    (r"\bnamed[- ]entit(y|ies)\b|\bner\b|\bentity recogni(?:[sz]|tion)", "token-classification", True),
    (r"\b(part[- ]of[- ]speech|pos[- ]tagg|token classification)", "token-classification", True),
    (r"\bspeech[- ]recogni(?:[sz]|tion)|\basr\b|\btranscri(be|ption|bing)\b|\bspeech[- ]to[- ]text\b",
     "automatic-speech-recognition", True),
    (r"\btext[- ]to[- ]speech\b|\btts\b|\bspeech synthesis\b|\bvoice clon", "text-to-speech", True),
    (r"\btext[- ]to[- ]image\b|\bimage generation\b|\bgenerat\w* images?\b|\bdiffusion model",
     "text-to-image", True),
    (r"\btext[- ]to[- ]video\b|\bvideo (clip|generation)\b|\bgenerat\w* (a )?(short )?video",
     "text-to-video", True),
    (r"\bopen[- ]vocabulary detection\b|\bzero[- ]shot (object )?detection\b",
     "zero-shot-object-detection", True),
    (r"\bobject detect(ion|or)s?\b|\bdetectors?\b", "object-detection", True),
    (r"\bsummari[sz]", "summarization", True),
    (r"\b(machine )?translat(e|ion|or)\b", "translation", True),
    (r"\bzero[- ]shot (text )?classification\b", "zero-shot-classification", True),
    (r"\bimage classification\b|\bclassif\w* images?\b|\bimage classifier\b",
     "image-classification", True),
    (r"\b(image|semantic) segmentation\b|\bbackground removal\b", "image-segmentation", True),
    (r"\bdepth estimation\b", "depth-estimation", True),
    (r"\bimage captioning\b|\bcaption(s|ing)? (for )?images\b", "image-to-text", True),
    (r"\breinforcement[- ]learning\b|\brl agents?\b|\bagents? (that|which) plays?\b",
     "reinforcement-learning", True),
    (r"\btabular\b", "tabular", True),
    (r"\btime[- ]series\b|\bforecast", "time-series-forecasting", True),
    (r"\bfill[- ]mask\b|\bmasked language model", "fill-mask", True),
    (r"\baudio classification\b|\b(emotions?|speaker|sound)s? (from|in) (speech|audio)\b",
     "audio-classification", False),
    (r"\bsentiment\b|\btext classification\b|\bclassif\w* (the )?(sentiment|emotions?|text)\b|"
     r"\bemotion classification\b|\btoxicity\b", "text-classification", False),
    (r"\bquestion[- ]answering\b|\banswers? questions\b", "question-answering", False),
    (r"\bvision[- ]language\b|\bvlm\b|\bimage[- ]text[- ]to[- ]text\b|\bmultimodal (chat|llm)",
     "image-text-to-text", False),
    (r"\bchat\w*\b|\bllms?\b|\blanguage models?\b|\binstruct\w*\b|\bcod(ing|e) (model|llm|generation)|"
     rf"\btext[- ]gen\b|{GENERATIVE}", "text-generation", False),
]

# evidence for tasks when a card has no pipeline_tag
TAG_TASKS: dict[str, str] = {
    "text-to-image": "text-to-image", "stable-diffusion": "text-to-image",
    "stable-diffusion-xl": "text-to-image", "image-generation": "text-to-image",
    "sentence-similarity": "sentence-similarity", "feature-extraction": "feature-extraction",
    "automatic-speech-recognition": "automatic-speech-recognition",
    "reinforcement-learning": "reinforcement-learning",
    "deep-reinforcement-learning": "reinforcement-learning",
    "object-detection": "object-detection", "summarization": "summarization",
    "translation": "translation", "text-to-speech": "text-to-speech",
    "image-classification": "image-classification", "token-classification": "token-classification",
    "text-classification": "text-classification", "question-answering": "question-answering",
    "tabular-classification": "tabular-classification", "tabular-regression": "tabular-regression",
    "time-series-forecasting": "time-series-forecasting", "text2text-generation": "text2text-generation",
    "image-to-image": "image-to-image", "fill-mask": "fill-mask", "conversational": "text-generation",
    "text-generation": "text-generation", "image-segmentation": "image-segmentation",
    "zero-shot-classification": "zero-shot-classification", "audio-classification": "audio-classification",
}
LIBRARY_TASKS: dict[str, str] = {
    "sentence-transformers": "sentence-similarity", "stable-baselines3": "reinforcement-learning",
    "ml-agents": "reinforcement-learning", "sample-factory": "reinforcement-learning",
    "cleanrl": "reinforcement-learning", "sklearn": "tabular", "flair": "token-classification",
    "gliner": "token-classification",
}
# model-index task names (MTEB and free text) -> pipeline tag
RESULT_TASKS: dict[str, str] = {
    "retrieval": "sentence-similarity", "sts": "sentence-similarity", "clustering": "sentence-similarity",
    "pairclassification": "sentence-similarity", "reranking": "sentence-similarity",
    "automatic speech recognition": "automatic-speech-recognition",
    "multilabel-text-classification": "text-classification",
}
# architecture class suffix (config "architectures") -> pipeline tag
HEAD_TASKS: list[tuple[str, str]] = [
    ("ForCausalLM", "text-generation"), ("ForConditionalGeneration", "text2text-generation"),
    ("ForTokenClassification", "token-classification"),
    ("ForSequenceClassification", "text-classification"),
    ("ForQuestionAnswering", "question-answering"), ("ForMaskedLM", "fill-mask"),
    ("ForImageClassification", "image-classification"), ("ForCTC", "automatic-speech-recognition"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"), ("ForObjectDetection", "object-detection"),
]


def normalize_task(value: str) -> str:
    v = value.strip().lower()
    if v in RESULT_TASKS:
        return RESULT_TASKS[v]
    return re.sub(r"[\s_]+", "-", v)


# -- languages -------------------------------------------------------------------------
LANGUAGES: dict[str, str] = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "portuguese": "pt",
    "italian": "it", "dutch": "nl", "russian": "ru", "ukrainian": "uk", "polish": "pl",
    "czech": "cs", "swedish": "sv", "danish": "da", "norwegian": "no", "finnish": "fi",
    "greek": "el", "turkish": "tr", "arabic": "ar", "hebrew": "he", "persian": "fa",
    "farsi": "fa", "hindi": "hi", "bengali": "bn", "urdu": "ur", "tamil": "ta", "telugu": "te",
    "marathi": "mr", "gujarati": "gu", "punjabi": "pa", "chinese": "zh", "mandarin": "zh",
    "cantonese": "yue", "japanese": "ja", "korean": "ko", "vietnamese": "vi", "thai": "th",
    "indonesian": "id", "malay": "ms", "swahili": "sw", "romanian": "ro", "hungarian": "hu",
    "bulgarian": "bg", "croatian": "hr", "serbian": "sr", "slovak": "sk", "slovenian": "sl",
    "catalan": "ca", "basque": "eu", "galician": "gl", "estonian": "et", "latvian": "lv",
    "lithuanian": "lt", "icelandic": "is", "irish": "ga", "welsh": "cy", "afrikaans": "af",
    "tagalog": "tl", "filipino": "tl", "amharic": "am", "yoruba": "yo", "hausa": "ha",
    "zulu": "zu", "nepali": "ne", "sinhala": "si", "khmer": "km", "burmese": "my", "latin": "la",
}
_CODE_ALIASES = {"eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es",
                 "zho": "zh", "chi": "zh", "jpn": "ja", "kor": "ko", "rus": "ru", "hin": "hi",
                 "por": "pt", "ita": "it", "nld": "nl", "ara": "ar", "multilingual": "multilingual"}


def normalize_language(value: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v in LANGUAGES:
        return LANGUAGES[v]
    v = re.split(r"[-_]", v)[0]  # en-US, zh_Hans
    if v in _CODE_ALIASES:
        return _CODE_ALIASES[v]
    if re.fullmatch(r"[a-z]{2,3}", v):
        return v
    return None


# -- licenses ----------------------------------------------------------------------------
PERMISSIVE = {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsd", "isc", "unlicense",
              "cc0-1.0", "cc-by-4.0", "cc-by-3.0", "zlib", "bsl-1.0", "postgresql", "wtfpl"}
# (query/text regex, license ids or prefixes ending in "*")
LICENSE_PATTERNS: list[tuple[str, list[str]]] = [
    (r"\bapache(?:[- ]license)?(?:[- ]?(?:v(?:ersion)?\s*)?2(?:\.0)?)?\b", ["apache-2.0"]),
    (r"\bMIT\b|\bmit[- ]licen[sc]e|(?i:\b(?:under|licen[sc]ed|licen[sc]e:?)\s+(?:the\s+)?mit\b)", ["mit"]),
    (r"\bbsd[- ]?3\b|\bbsd-3-clause\b", ["bsd-3-clause"]),
    (r"\bbsd\b", ["bsd*"]),
    (r"\bcopyleft\b", ["gpl*", "agpl*", "lgpl*", "cc-by-sa*"]),
    (r"\bllama[- ]?\d?(?:\.\d)?\s+(?:community\s+)?licen[cs]e|\bllama licen[cs]es?\b|\bllama-licen[cs]ed\b",
     ["llama*"]),
    (r"(?<=\bor )mit\b|(?<=\band )mit\b|\bmit(?= or\b| and\b|/)", ["mit"]),  # "apache or mit"
    (r"\bagpl", ["agpl*"]),
    (r"\blgpl", ["lgpl*"]),
    (r"(?<![al])\bgpl", ["gpl*"]),
    (r"\bcc0\b|\bpublic domain\b", ["cc0-1.0"]),
    (r"(creative[- ]commons|\bcc)[- ]?(by[- ])?(\w+[- ])?(non[- ]?commercial|nc)\b", ["cc-by-nc*"]),
    (r"\bnon[- ]?commercial\b", ["cc-by-nc*", "*-nc-*", "*noncommercial*"]),
    (r"\bcc[- ]by[- ]sa\b", ["cc-by-sa*"]),
    (r"\bcc[- ]by(?:[- ]4\.0)?\b(?![- ](nc|sa|nd))", ["cc-by-4.0", "cc-by-3.0"]),
    (r"\bopenrail", ["*openrail*"]),
    (r"\bllama ?2 (community )?licen[sc]e", ["llama2"]),
    (r"\bllama ?3(\.\d)? (community )?licen[sc]e", ["llama3*"]),
    (r"\bgemma (terms|licen[sc]e)", ["gemma"]),
    (r"\bpermissive(ly)?\b|\b(?:apache|mit|bsd)[- ](?:style|like|type)\b", sorted(PERMISSIVE)),
]
# how cards state a license in prose (used when the YAML has none)
TEXT_LICENSES: list[tuple[str, str]] = [
    (r"apache(?: license)?,? (?:version )?2\.0|apache-2\.0|apache 2", "apache-2.0"),
    (r"\bmit license\b|licen[sc]ed under (?:the )?mit\b|license: mit\b", "mit"),
    (r"cc[- ]by[- ]nc[- ]sa[- ]4\.0", "cc-by-nc-sa-4.0"),
    (r"cc[- ]by[- ]nc[- ]4\.0|attribution[- ]noncommercial 4\.0", "cc-by-nc-4.0"),
    (r"cc[- ]by[- ]sa[- ]4\.0", "cc-by-sa-4.0"),
    (r"cc[- ]by[- ]4\.0", "cc-by-4.0"),
    (r"bsd[- ]3[- ]clause", "bsd-3-clause"),
    (r"\bgpl[- ]?v?3|gnu general public license v(?:ersion )?3", "gpl-3.0"),
]


def license_matches(license_id: str, patterns: list[str]) -> bool:
    lic = license_id.lower()
    for p in patterns:
        if p.startswith("*") and p.endswith("*") and p.strip("*") in lic:
            return True
        if p.endswith("*") and lic.startswith(p[:-1]):
            return True
        if lic == p:
            return True
    return False


# -- libraries -----------------------------------------------------------------------------
# library id -> query/text regex
LIBRARIES: dict[str, str] = {
    "transformers.js": r"transformers\.js|transformersjs|@xenova/transformers|@huggingface/transformers",
    "sentence-transformers": r"sentence[- ]transformers|\bsbert\b",
    "sklearn": r"scikit[- ]learn|\bsklearn\b|\bskops\b",
    "diffusers": r"\bdiffusers\b",
    "peft": r"\bpeft\b",
    "stable-baselines3": r"stable[- ]baselines ?3|\bsb3\b",
    "ml-agents": r"ml[- ]agents",
    "keras": r"\bkeras\b",
    "timm": r"\btimm\b",
    "spacy": r"\bspacy\b",
    "flair": r"\bflair\b",
    "nemo": r"\bnemo\b",
    "fastai": r"\bfastai\b",
    "onnx": r"\bonnx(runtime)?\b",
    "llama.cpp": r"llama\.cpp|llamacpp|\bollama\b|lm studio",
    "mlx": r"\bmlx\b",
    "gguf": r"\bgguf\b",
    "vllm": r"\bvllm\b",
    "open_clip": r"open[_ ]clip",
    "speechbrain": r"speechbrain",
    "espnet": r"\bespnet\b",
    "ultralytics": r"ultralytics|\byolov?\d",
}
# libraries whose presence in a query is a requirement on how the model runs
RUNTIME_LIBRARIES = {"transformers.js", "sklearn", "llama.cpp", "mlx", "onnx", "keras", "spacy",
                     "flair", "nemo", "fastai", "stable-baselines3", "ml-agents", "timm", "diffusers",
                     "sentence-transformers", "ultralytics", "speechbrain", "espnet", "open_clip",
                     "peft", "vllm"}

# -- architectures -----------------------------------------------------------------------
ARCHITECTURES = [
    "bert", "roberta", "xlm-roberta", "deberta", "distilbert", "albert", "electra", "camembert",
    "t5", "mt5", "bart", "mbart", "pegasus", "led", "longformer", "gpt2", "gpt-j", "gptj",
    "gpt-neox", "llama", "mistral", "mixtral", "qwen", "qwen2", "qwen3", "gemma", "phi", "falcon",
    "mamba", "jamba", "mpt", "bloom", "opt", "olmo", "starcoder", "deepseek", "yi", "whisper",
    "wav2vec2", "hubert", "vit", "swin", "convnext", "detr", "yolo", "clip", "siglip", "dinov2",
    "resnet", "efficientnet", "segformer", "layoutlm", "stable-diffusion", "sdxl", "flux", "unet",
    "dit", "luke", "mpnet", "minilm", "nomic", "e5", "bge", "gte", "moe",
]

# -- quantization --------------------------------------------------------------------------
QUANT_METHODS: dict[str, str] = {
    "gptq": r"\bgptq\b", "awq": r"\bawq\b", "gguf": r"\bgguf\b|\bggml\b",
    "bitsandbytes": r"bitsandbytes|\bbnb\b|load_in_4bit|load_in_8bit", "exl2": r"\bexl2\b|exllama",
    "mlx": r"\bmlx\b", "qat": r"\bqat\b|quantization[- ]aware", "bitnet": r"\bbitnet\b|1\.58[- ]?bit",
    "hqq": r"\bhqq\b", "aqlm": r"\baqlm\b", "fp8": r"\bfp8\b", "int8": r"\bint8\b",
}
# GGUF quant types ("Q4_K_M", "IQ2_XS", "Q8_0") -> bits
GGUF_QTYPE = re.compile(r"\b(?:i?q)([1-8])(?:_[0-9a-z]+)*\b", re.I)
BITS = re.compile(r"\b([1-8](?:\.\d+)?)[- ]?bits?\b|\bint([48])\b|\b([48])bit\b|\bw([48])a\d+\b", re.I)

# architecture or family word in a card-only model's name -> its likely task
NAME_TASKS: list[tuple[str, str]] = [
    (r"whisper|wav2vec2?|hubert|conformer|xls-r|\basr\b|speech[- ]?to[- ]?text",
     "automatic-speech-recognition"),
    (r"stable[- ]diffusion|\bsdxl\b|\bsd-?xl\b|\bflux\b|diffusion|dreambooth|\bxl\b.*lora", "text-to-image"),
    (r"\bdetr\b|\byolo", "object-detection"),
    (r"\btts\b|text[- ]to[- ]speech", "text-to-speech"),
    (r"-ner\b|\bner\b", "token-classification"),
    (r"sentence[- ]transformer|minilm|mpnet|\be5\b|\bgte\b|\bbge\b|embedding", "sentence-similarity"),
    (r"llama|mistral|mixtral|qwen|gemma|\bphi\b|falcon|\bmpt\b|gpt|olmo|deepseek|\byi\b|"
     r"starcoder|codellama|vicuna|wizard|hermes|zephyr|\bchat\b|instruct|\bllm\b", "text-generation"),
]
CHAT_NAME = r"\bchat\b|instruct|\bit\b|conversational|assistant|dialog|\bsft\b|\bdpo\b|\brlhf\b"
CHAT_TEXT = r"chat[_ ]template|apply_chat_template|<\|im_start\|>|\[INST\]|<\|user\|>|<start_of_turn>"
QUANT_NAME = r"\bquanti[sz](?:ed|ations?)\b|\bquants\b|\b[2-8][- ]?bit\b|\bint[48]\b|\bq[2-8]_k"

# Benchmarks by their usual spellings -> one form, for matching a query's benchmark against the
# dataset names of result rows ("ARC" ~ "AI2 Reasoning Challenge (25-Shot)" ~ "arc_challenge").
BENCHMARK_ALIASES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), c) for p, c in [
    (r"\bai2[ _-]*reasoning[ _-]*challenge\b|\barc[ _-]*(?:c\b|challenge\b)", "arc challenge"),
    (r"\bai2[ _-]*reasoning[ _-]*easy\b|\barc[ _-]*(?:e\b|easy\b)", "arc easy"),
    (r"\bmassive multitask language understanding\b|\bhendrycks[ _-]*test\b", "mmlu"),
    (r"\bhuman[ _-]*eval\b", "humaneval"),
    (r"\bgsm[ _-]*8[ _-]*k\b|\bgrade school math\b", "gsm8k"),
    (r"\btruthful[ _-]*qa\b", "truthfulqa"),
    (r"\bhella[ _-]*swag\b", "hellaswag"),
    (r"\bwino[ _-]*grande\b", "winogrande"),
    (r"\bbig[ _-]*bench[ _-]*hard\b|\bbbh\b", "bbh"),
    (r"\bmt[ _-]*bench\b", "mtbench"),
    (r"\balpaca[ _-]*eval\b", "alpacaeval"),
    (r"\bif[ _-]*eval\b", "ifeval"),
    (r"\bopenbook[ _-]*qa\b", "openbookqa"),
    (r"\blibri[ _-]*speech\b", "librispeech"),
    (r"\bcommon[ _-]*voice\b", "commonvoice"),
    (r"\bsquad[ _-]*(?:v(?:ersion)?[ _-]*)?2(?:\.0)?\b", "squad 2"),
    (r"\bpass[ _@-]*1\b", "pass1"),
    (r"\bmed[ _-]*qa\b", "medqa"),
    (r"\bpub[ _-]*med[ _-]*qa\b", "pubmedqa"),
]]
