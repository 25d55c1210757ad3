"""The simulator's model catalogue (ListBenchmarkModels) and model-slug lookup.

Consistency rule from the API reference (§12): a version's canonical `slug` is the §9.3
normalisation of its `modelProxySlug` (`anthropic/claude-sonnet-4-6@default` ->
`claude-sonnet-4-6-default`), because the kaggle CLI sends and filters on the normalised
form of whatever `-m` the user typed. `find_model` accepts either form.
"""

from __future__ import annotations

from dataclasses import dataclass

from kbench_tui.slugs import normalize_model_slug

TEXT, IMAGE, VIDEO, AUDIO = "MODALITY_TEXT", "MODALITY_IMAGE", "MODALITY_VIDEO", "MODALITY_AUDIO"
_MODALITY_CODES = {"t": TEXT, "i": IMAGE, "v": VIDEO, "a": AUDIO}

# id, name, slug of each organisation.
_ORGANIZATIONS: dict[str, tuple[int, str]] = {
    "google": (7, "Google"),
    "anthropic": (8, "Anthropic"),
    "openai": (9, "OpenAI"),
    "xai": (10, "xAI"),
    "meta": (11, "Meta"),
    "mistralai": (12, "Mistral AI"),
    "deepseek-ai": (13, "DeepSeek"),
    "qwen": (14, "Qwen"),
    "moonshotai": (15, "Moonshot AI"),
    "zai-org": (16, "Z.ai"),
}

# (display name, proxy slug, input modalities, output modalities, core?, knowledge cutoff)
# Modalities are coded one letter each: t(ext) i(mage) v(ideo) a(udio).
_MODELS: list[tuple[str, str, str, str, bool, str]] = [
    ("Gemini 3 Pro Preview", "google/gemini-3-pro-preview", "tiva", "t", True, "2025-01-01"),
    ("Gemini 3 Flash Preview", "google/gemini-3-flash-preview", "tiva", "t", True, "2025-01-01"),
    ("Gemini 2.5 Pro", "google/gemini-2.5-pro", "tiva", "t", True, "2025-01-01"),
    ("Gemini 2.5 Flash", "google/gemini-2.5-flash", "tiva", "t", True, "2025-01-01"),
    ("Gemini 2.5 Flash-Lite", "google/gemini-2.5-flash-lite", "tiva", "t", False, "2025-01-01"),
    ("Gemini 2.5 Flash Image", "google/gemini-2.5-flash-image", "ti", "ti", False, "2025-06-01"),
    ("Gemini 2.0 Flash", "google/gemini-2.0-flash", "tiva", "t", False, "2024-08-01"),
    ("Gemma 3 27B", "google/gemma-3-27b-it", "ti", "t", False, "2024-08-01"),
    ("Gemma 3 12B", "google/gemma-3-12b-it", "ti", "t", False, "2024-08-01"),
    ("Gemma 3n E4B", "google/gemma-3n-e4b-it", "tia", "t", False, "2024-06-01"),
    ("Claude Opus 4.6", "anthropic/claude-opus-4-6@default", "ti", "t", True, "2025-05-01"),
    ("Claude Sonnet 4.6", "anthropic/claude-sonnet-4-6@default", "ti", "t", True, "2025-07-01"),
    ("Claude Haiku 4.5", "anthropic/claude-haiku-4-5@20251001", "ti", "t", False, "2025-02-01"),
    ("Claude Opus 4.1", "anthropic/claude-opus-4-1@20250805", "ti", "t", False, "2025-03-01"),
    ("Claude Sonnet 4", "anthropic/claude-sonnet-4@20250514", "ti", "t", False, "2025-03-01"),
    ("Claude 3.7 Sonnet", "anthropic/claude-3-7-sonnet@20250219", "ti", "t", False, "2024-10-01"),
    ("GPT-5", "openai/gpt-5", "ti", "t", True, "2024-09-30"),
    ("GPT-5 mini", "openai/gpt-5-mini", "ti", "t", True, "2024-05-31"),
    ("GPT-5 nano", "openai/gpt-5-nano", "ti", "t", False, "2024-05-31"),
    ("GPT-4.1", "openai/gpt-4.1", "ti", "t", False, "2024-06-01"),
    ("GPT-4.1 mini", "openai/gpt-4.1-mini", "ti", "t", False, "2024-06-01"),
    ("GPT-4o", "openai/gpt-4o", "tia", "t", False, "2023-10-01"),
    ("o3", "openai/o3", "ti", "t", False, "2024-06-01"),
    ("o4-mini", "openai/o4-mini", "ti", "t", False, "2024-06-01"),
    ("gpt-oss-120b", "openai/gpt-oss-120b", "t", "t", False, "2024-06-01"),
    ("gpt-oss-20b", "openai/gpt-oss-20b", "t", "t", False, "2024-06-01"),
    ("Grok 4.3", "xai/grok-4.3", "ti", "t", True, "2025-06-01"),
    ("Grok 4", "xai/grok-4", "ti", "t", False, "2024-11-01"),
    ("Grok 4 Fast", "xai/grok-4-fast", "ti", "t", False, "2024-11-01"),
    ("Grok 3 Mini", "xai/grok-3-mini", "t", "t", False, "2024-11-01"),
    ("Llama 4 Maverick", "meta/llama-4-maverick", "ti", "t", False, "2024-08-01"),
    ("Llama 4 Scout", "meta/llama-4-scout", "ti", "t", False, "2024-08-01"),
    ("Llama 3.3 70B Instruct", "meta/llama-3.3-70b-instruct", "t", "t", False, "2023-12-01"),
    ("Mistral Large", "mistralai/mistral-large-2411", "t", "t", False, "2024-10-01"),
    ("Mistral Medium 3.1", "mistralai/mistral-medium-2508", "ti", "t", False, "2025-03-01"),
    ("Magistral Medium", "mistralai/magistral-medium-2509", "ti", "t", False, "2025-03-01"),
    ("Codestral", "mistralai/codestral-2508", "t", "t", False, "2025-01-01"),
    ("DeepSeek-R1", "deepseek-ai/deepseek-r1-0528", "t", "t", True, "2024-07-01"),
    ("DeepSeek-V3.2", "deepseek-ai/deepseek-v3.2", "t", "t", False, "2024-07-01"),
    ("DeepSeek-V3.1", "deepseek-ai/deepseek-v3.1", "t", "t", False, "2024-07-01"),
    ("Qwen3 235B A22B", "qwen/qwen3-235b-a22b-instruct-2507", "t", "t", True, "2024-12-01"),
    ("Qwen3 Coder 480B", "qwen/qwen3-coder-480b-a35b-instruct", "t", "t", False, "2024-12-01"),
    ("Qwen3 Next 80B", "qwen/qwen3-next-80b-a3b-thinking", "t", "t", False, "2024-12-01"),
    ("Qwen3 VL 235B", "qwen/qwen3-vl-235b-a22b-instruct", "tiv", "t", False, "2024-12-01"),
    ("Kimi K2", "moonshotai/kimi-k2-instruct-0905", "t", "t", False, "2024-12-01"),
    ("GLM-4.6", "zai-org/glm-4.6", "t", "t", False, "2025-03-01"),
]

LICENSE = {"id": 4, "name": "Proprietary model license"}


@dataclass(frozen=True)
class CatalogModel:
    """One benchmark model with its default version."""

    model_id: int
    version_id: int
    display_name: str
    model_slug: str
    proxy_slug: str
    organization: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    core: bool
    knowledge_cutoff: str

    @property
    def version_slug(self) -> str:
        """The canonical version slug (normalised proxy slug), sent in `modelVersionSlugs`."""
        return normalize_model_slug(self.proxy_slug)

    def to_wire(self) -> dict:
        """The BenchmarkModel JSON object (defaults omitted, `version` always present)."""
        org_id, org_name = _ORGANIZATIONS[self.organization]
        organization = {"name": org_name, "id": org_id, "slug": self.organization}
        version: dict = {
            "id": self.version_id,
            "benchmarkModelId": self.model_id,
            "slug": self.version_slug,
            "knowledgeCutoff": f"{self.knowledge_cutoff}T00:00:00.000Z",
            "isDefault": True,
            "published": True,
            "allowModelProxy": True,
            "modelProxySlug": self.proxy_slug,
            "displayName": self.display_name,
            "organization": organization,
            "license": LICENSE,
            "inputModalities": list(self.inputs),
            "outputModalities": list(self.outputs),
        }
        if self.core:
            version["importanceLevel"] = "CORE"
        return {
            "id": self.model_id,
            "displayName": self.display_name,
            "slug": self.model_slug,
            "organizationId": org_id,
            "licenseId": LICENSE["id"],
            "defaultVersionId": self.version_id,
            "version": version,
            "organization": organization,
            "license": LICENSE,
            "published": True,
        }


def _build() -> list[CatalogModel]:
    models = []
    for index, (name, proxy, inputs, outputs, core, cutoff) in enumerate(_MODELS, start=1):
        organization, _, rest = proxy.partition("/")
        models.append(
            CatalogModel(
                model_id=index,
                version_id=index * 10 + 1,
                display_name=name,
                # The model slug drops the `@version` suffix the proxy form may carry.
                model_slug=rest.split("@", 1)[0],
                proxy_slug=proxy,
                organization=organization,
                inputs=tuple(_MODALITY_CODES[c] for c in inputs),
                outputs=tuple(_MODALITY_CODES[c] for c in outputs),
                core=core,
                knowledge_cutoff=cutoff,
            )
        )
    return models


MODELS: list[CatalogModel] = _build()
_BY_SLUG: dict[str, CatalogModel] = {model.version_slug: model for model in MODELS}


def find_model(slug: str) -> CatalogModel | None:
    """The model for a version slug in canonical or proxy form, or None."""
    return _BY_SLUG.get(normalize_model_slug(slug.strip()))
