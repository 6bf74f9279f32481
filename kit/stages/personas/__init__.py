"""Personas (DOMAIN.md section 3; guide ch. 2.2): tags, the tag weight model, and
data-driven personas found by clustering.

Data flow (each step one public function, pandas in, pandas out)::

    spine + clean transactions + clean interactions
      -> build_tags        tags per customer (tag_* columns) + which families are available
      -> tag_scores        tag weight model: tag_score 0-100
      -> cluster_personas  k-means on behaviour and value, k chosen by silhouette
      -> name_keys         trait keys and dominant tag keys per cluster
      -> persona_summary   the figures of one card per persona
    run_personas does all of it and returns the spine with the 03 columns added.

Modules: :mod:`.matching` (keyword matching), :mod:`.tags` (tag families),
:mod:`.weights` (tag weight model), :mod:`.clusters` (features, k-means),
:mod:`.naming` (tag lift, traits, card figures), :mod:`.pipeline` (all of it).
No words here: the persona label (``长三角 · 新能源汽车制造 · 技术驱动型 · 关注设备稳定性``),
the cluster names, tag labels, tables and plots are :mod:`kit.present.personas` and
:mod:`kit.present.plots.personas`; what the reader must know comes back as
:class:`~kit.core.notes.Note`.

Tag families
------------
=================  =======  ========================================================
family             group    column(s) and rule
=================  =======  ========================================================
industry           static   ``tag_industry``: the master's industry
size               static   ``tag_size``: band of ``employees`` (or ``annual_revenue``)
                            on ``cfg.size_bins``, e.g. ``500-1000``; last band ``5000+``
region             static   ``tag_region``: the master's region
decision_role      static   ``tag_decision_role``: roles of ``cfg.decision_roles`` whose
                            keywords occur in ``contact_title`` (``technical|procurement``)
recent_activity    dynamic  ``tag_recent_orders``: purchases in the last ``cfg.recent_days``
channel            dynamic  ``tag_channel``: the channel with most orders, ``mixed`` when its
                            share of the customer's orders is below ``cfg.channel_mixed_share``
keywords           dynamic  ``tag_keywords``: the ``cfg.top_keywords`` most frequent keywords
                            of the customer's inquiries (interaction type ``inquiry``)
category           dynamic  ``tag_category``: top categories by amount;
                            ``tag_n_categories``: number of categories bought
pain_point         pain     ``tag_core_pain``, ``tag_hidden_need``, ``tag_decision_concern``:
                            pain points of ``cfg.pain_points`` whose keywords occur in the
                            customer's interaction keywords or text, most mentioned first;
                            ``tag_pain_hits``: interactions that mention any pain point
=================  =======  ========================================================

Multi-valued tags are stored as keys joined by ``|``. Stored keys are language-neutral
(data values, role keys, the English label of a pain point); report labels are looked
up at display time (:func:`kit.present.personas.tag_label`). A family the data cannot
support is *unavailable*: its columns are all missing and :func:`build_tags` says why
(``FamilyStatus.reason``, a message).

Keyword matching (pain points, decision roles): a keyword with Latin letters matches
case-insensitively at the start of a word, so stems work (``compatib`` matches
"Compatibility") and ``CTO`` does not match "Director"; any other keyword (Chinese)
matches as a plain substring. Interaction ``keywords`` may be joined by ``、 , ， ; ；``
``|`` ``/`` or spaces.

Tag weight model
----------------
Each family ``f`` has a configured weight ``w_f`` (``cfg.tag_weights``; the brief's example:
industry 30 %, pain point 40 %; a family not listed weighs 0) and, per customer, a
strength ``s_f`` in [0, 1]:

* static families and ``keywords``: 1 when the tag is known, else 0 (coverage);
* ``channel``: 1 for a clear preference, 0.5 for ``mixed``, 0 when unknown;
* ``recent_activity``, ``category``, ``pain_point``: intensity relative to the most
  engaged customers, ``min(1, x / q90)`` where ``x`` is recent orders, categories bought
  or pain-point mentions and ``q90`` the 90th percentile of ``x`` among customers with
  ``x > 0`` (0 when nobody has any).

``tag_score = 100 * sum_f w'_f * s_f`` with ``w'_f = w_f / sum of w over the available
families``: the weights of unavailable families are dropped and the rest renormalised to
sum to 1, so the score stays on 0-100 and is comparable within a run (not across runs
whose available families differ; the notebook shows the effective weights).

Data-driven personas
--------------------
Features per customer (spine columns, derived from transactions when absent):
``log_frequency = log1p(orders_total)``, ``recency_days = days_since_last``,
``log_monetary = log1p(avg_order_value)``, ``tenure_days``, ``n_categories`` and
``channel_concentration`` (share of orders in the top channel) when the data has
categories / channels. Customers without purchases are not clustered. Features that are
constant are dropped; each feature is clipped to its 0.5-99.5 % quantiles and standardised.

k-means (scikit-learn, ``random_state = cfg.seed``, ``n_init`` fixed) is fitted for every
k in ``[cfg.k_min, cfg.k_max]`` on a seeded sample of at most ``fit_sample`` customers;
the silhouette score of each fit is computed on a seeded sub-sample of at most
``silhouette_sample`` of them; the k with the highest score wins (ties: the smaller k).
All customers are then assigned to the nearest centroid of that fit, so the cost grows
linearly with the number of customers and a fixed seed gives the same personas every run.
The fits run single-threaded: on samples this small OpenMP's thread start-up costs more
than it saves (seconds instead of milliseconds on a busy machine), and the result cannot
depend on the machine's core count.
Clusters are numbered 1..k by descending median revenue per customer. With fewer
clusterable customers (or distinct feature rows) than ``k_min`` nothing is clustered and
the result says why.

A cluster's name (:func:`name_keys`, worded by :func:`kit.present.personas.name_clusters`)
joins up to three traits of its standardised centroid (features at least 0.5 sd from the
average customer: active / lapsed, frequent / infrequent, high- / low-ticket,
long-standing / new, multi- / single-category, single- / multi-channel) and its most
distinctive tag (carried by >= 30 % of the cluster and >= 1.25 times as common there as
overall), e.g. ``高频高客单多品类客户 · 软件许可``.
Keywords and pain points read the interactions of the last ``interaction_window_days``
(default 365) before ``as_of``.
"""
from __future__ import annotations

from kit.stages.personas.clusters import FEATURES, TRAITS, ClusterResult, cluster_features, cluster_personas
from kit.stages.personas.matching import keyword_pattern, match_keywords, split_keywords
from kit.stages.personas.naming import (
    NAMING_COLUMNS,
    RECENT_BANDS,
    cluster_traits,
    dominant_tags,
    name_keys,
    persona_summary,
    tag_counts,
    tag_lift,
    typical_customers,
)
from kit.stages.personas.pipeline import (
    PERSONA_COLUMNS,
    SPINE_INPUTS,
    TRANSACTION_COLUMNS,
    PersonaRun,
    attach,
    own_columns,
    run_personas,
    spine_inputs,
)
from kit.stages.personas.tags import (
    COUNT_COLUMNS,
    FAMILIES,
    PAIN_COLUMNS,
    SECTION,
    SEP,
    TAG_COLUMNS,
    FamilyStatus,
    build_tags,
    empty_tags,
    omitted_note,
    purchases,
    size_band_labels,
    size_bands,
    unavailable_families,
)
from kit.stages.personas.weights import (
    effective_weights,
    family_weights,
    recent_band,
    tag_scores,
    tag_strengths,
)

__all__ = [
    "COUNT_COLUMNS", "FAMILIES", "FEATURES", "NAMING_COLUMNS", "PAIN_COLUMNS", "PERSONA_COLUMNS",
    "RECENT_BANDS", "SECTION", "SEP", "SPINE_INPUTS", "TAG_COLUMNS", "TRANSACTION_COLUMNS", "TRAITS",
    "ClusterResult", "FamilyStatus", "PersonaRun", "attach", "build_tags", "cluster_features", "cluster_personas", "cluster_traits",
    "dominant_tags", "effective_weights", "empty_tags", "family_weights", "keyword_pattern",
    "match_keywords", "name_keys", "omitted_note", "own_columns", "persona_summary", "purchases", "recent_band",
    "run_personas", "size_band_labels", "spine_inputs", "size_bands", "split_keywords", "tag_counts", "tag_lift",
    "tag_scores", "tag_strengths", "typical_customers", "unavailable_families",
]
