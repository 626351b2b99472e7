"""Jinja2 templates of the run report and of the index of runs.

Kept as Python strings rather than package data files so they travel with the
code wherever the package is installed (a Beam worker's ``setup.py`` install
ships modules, not data files).
"""

STYLE = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
       max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
h1 { margin: 24px 0 4px; font-size: 26px; }
h2 { margin-top: 36px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { margin: 22px 0 8px; font-size: 16px; }
nav a { margin-right: 16px; }
.meta { color: #666; margin: 0 0 12px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-size: 16px; margin: 12px 0; }
.blessed { background: #e6f4ea; border: 1px solid #34a853; }
.not-blessed { background: #fce8e6; border: 1px solid #d93025; }
.unknown { background: #f1f3f4; border: 1px solid #999; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #fff8e1; }
.pass { color: #188038; font-weight: 600; }
.fail { color: #d93025; font-weight: 600; }
.skip { color: #777; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
img { max-width: 100%; border: 1px solid #eee; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-all; margin: 0; max-height: 320px; overflow: auto; }
.absent { color: #777; font-style: italic; }
.neighbours td { font-size: 13px; }
"""

REPORT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.title }}</title>
<style>{{ style }}</style>
</head>
<body>
<h1>{{ report.title }}</h1>
<p class="meta">Report generated {{ report.generated_at }}
{%- if report.lineage.run_id %} &middot; run <code>{{ report.lineage.run_id }}</code>{% endif %}</p>
{% set evaluation = report.evaluation %}
<div class="verdict {{ verdict_class }}" id="verdict">
  <strong>{{ verdict }}</strong>
  {%- for name in headline_metrics if evaluation and name in evaluation.candidate_metrics %}
  &middot; test {{ name }} {{ evaluation.candidate_metrics[name] | f4 }}
  {%- endfor %}
  {%- if report.canary %} &middot; canary {% if report.canary.blessed %}passed{% else %}<strong>FAILED</strong>{% endif %}{% endif %}
  &middot; {% if report.lineage.pushed %}pushed as version <strong>{{ report.lineage.pushed_version }}</strong>
  {%- elif report.lineage.pushed is false %}not pushed{% else %}no push recorded{% endif %}
</div>
<nav>
  <a href="#data">Data</a><a href="#embeddings">Vocabulary &amp; embeddings</a><a href="#training">Training</a>
  <a href="#evaluation">Evaluation</a><a href="#canary">Canary</a><a href="#lineage">Lineage</a>
</nav>

<section id="data">
<h2>Data</h2>
{% if report.data %}{% set data = report.data %}
<table id="splits">
  <tr><th>split</th><th class="num">examples</th>
  {%- for label in label_names %}<th class="num">{{ label }}</th>{% endfor %}
  <th class="num">median tokens</th><th class="num">longer than max_length</th></tr>
  {% for split in data.splits %}
  <tr data-split="{{ split.name }}"><td>{{ split.name }}</td><td class="num" data-examples="{{ split.examples }}">{{ split.examples | num }}</td>
  {%- for label in label_names %}<td class="num">{{ split.labels.get(label, 0) | num }}</td>{% endfor %}
  {%- if split.lengths is not none and split.lengths | length %}
  <td class="num">{{ median(split.lengths) | num }}</td>
  <td class="num">{% if data.max_length %}{{ share_over(split.lengths, data.max_length) | pct }}{% else %}&ndash;{% endif %}</td>
  {%- else %}<td class="num">&ndash;</td><td class="num">&ndash;</td>{% endif %}</tr>
  {% endfor %}
</table>
{% if images.lengths %}
<h3>Review length</h3>
<p>Tokens per review with the Transform's tokenizer, before the model pads or truncates them to
{% if data.max_length %}<code>max_length</code> = {{ data.max_length }}{% else %}its sequence length{% endif %}.</p>
<img src="{{ images.lengths }}" alt="Histogram of review lengths per split">
{% endif %}

<h3>Quarantine</h3>
{% if data.quarantine %}
<p>Records ExampleGen set aside instead of turning them into examples
(in <code>{{ data.uri }}/quarantine/</code>).</p>
<table id="quarantine"><tr><th>reason</th><th class="num">records</th><th>for example</th></tr>
{% for name, count in data.quarantine.items() %}<tr><td><code>{{ name }}</code></td><td class="num" data-quarantined="{{ count }}">{{ count | num }}</td>
<td>{% for source in data.quarantine_samples.get(name, ()) %}<code>{{ source }}</code>{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>{% endfor %}
</table>
{% elif data.quarantine is none %}<p id="quarantine">none: this run's ExampleGen has no quarantine output.</p>
{% else %}<p id="quarantine">none: no record was set aside.</p>{% endif %}

<h3>Train/test leakage: exact duplicates</h3>
{% if data.leakage %}{% set leakage = data.leakage %}
<p>Reviews are compared as the model sees them (lower-cased, tokenised, HTML line breaks removed).</p>
<table id="leakage">
  <tr><th>scored split</th><th>text also in</th><th class="num">reviews</th><th class="num">duplicated</th><th class="num">share</th></tr>
  {% for scored, learnt, total, leaked in leakage.leaks %}
  <tr><td>{{ scored }}</td><td>{{ learnt | join(" + ") }}</td><td class="num">{{ total | num }}</td>
  <td class="num" data-leaked="{{ leaked }}">{{ leaked | num }}</td><td class="num">{{ (leaked / total if total else 0) | pct }}</td></tr>
  {% endfor %}
</table>
<p>{{ leakage.groups | num }} distinct texts appear in more than one split
{%- if leakage.within_split %}; duplicates within a split:
{% for split, count in leakage.within_split.items() %}{{ split }} {{ count | num }}{% if not loop.last %}, {% endif %}{% endfor %}{% endif %}.</p>
{% if leakage.shown_groups %}
<table id="duplicate-groups">
  <tr><th>reviews (split: file, label)</th><th>text</th></tr>
  {% for group in leakage.shown_groups %}
  <tr><td>{% for split, source, label in group.members %}{{ split }}: <code>{{ source }}</code> ({{ label }})<br>{% endfor %}
  {% if group.conflicting_labels %}<span class="fail">conflicting labels</span>{% endif %}</td>
  <td>{{ group.snippet }}</td></tr>
  {% endfor %}
</table>
{% endif %}
{% else %}<p class="absent">Not computed (no labeled split).</p>{% endif %}
{% else %}<p class="absent">No ExampleGen output in this run.</p>{% endif %}
</section>

<section id="embeddings">
<h2>Vocabulary and embeddings</h2>
{% if report.embeddings %}{% set emb = report.embeddings %}
<table id="vocabulary">
  <tr><th>vocabulary rows</th><td class="num">{{ emb.vocabulary_size | num }}</td></tr>
  <tr><th>dimension</th><td class="num">{{ emb.dimension | num }}</td></tr>
  <tr><th>embeddings during training</th><td>{% if emb.fine_tuned %}fine-tuned{% elif emb.fine_tuned is false %}frozen (unchanged){% else %}unknown{% endif %}</td></tr>
</table>
{% if emb.coverage %}{% set cov = emb.coverage %}
<h3>Coverage of the vocabulary by the word vectors</h3>
<table id="coverage">
  <tr><th>words</th><th class="num">count</th><th class="num">share</th></tr>
  <tr><td>exact match</td><td class="num">{{ cov.exact | num }}</td><td class="num">{{ ratio(cov.exact, cov.vocabulary_words) | pct }}</td></tr>
  <tr><td>matched after lower-casing</td><td class="num">{{ cov.lowercase | num }}</td><td class="num">{{ ratio(cov.lowercase, cov.vocabulary_words) | pct }}</td></tr>
  <tr><td>missing (initialised)</td><td class="num">{{ cov.missing | num }}</td><td class="num">{{ ratio(cov.missing, cov.vocabulary_words) | pct }}</td></tr>
  <tr><th>vocabulary words (reserved tokens excluded)</th><th class="num">{{ cov.vocabulary_words | num }}</th><th></th></tr>
</table>
{% if cov.token_share is not none %}<p>Words with a vector cover {{ cov.token_share | pct }} of the token occurrences in the train split.</p>{% endif %}
{% if cov.vectors_path %}<p>Vectors: <code>{{ cov.vectors_path }}</code> ({{ cov.vectors_format }}).</p>{% endif %}
<h3>Most frequent missing words</h3>
{% if cov.top_missing %}
<p id="top-missing">{% for item in cov.top_missing %}<code>{{ item.word }}</code> ({{ item.count | num }}){% if not loop.last %}, {% endif %}{% endfor %}</p>
{% else %}<p id="top-missing">none</p>{% endif %}
{% endif %}
{% if images.projection %}
<h3>The {{ emb.projection.words | length }} most frequent words, 2-D PCA</h3>
<img src="{{ images.projection }}" alt="PCA of the most frequent words before and after fine-tuning">
{% endif %}
{% if emb.neighbours %}
<h3>Nearest neighbours (cosine), before and after fine-tuning</h3>
<table class="neighbours" id="neighbours">
  <tr><th>word</th><th>as injected</th><th>after training</th></tr>
  {% for item in emb.neighbours %}
  <tr><th>{{ item.word }}</th>
  <td>{% for word, sim in item.before %}{{ word }} <small>{{ sim | f2 }}</small>{% if not loop.last %}, {% endif %}{% else %}&ndash;{% endfor %}</td>
  <td>{% for word, sim in item.after %}{{ word }} <small>{{ sim | f2 }}</small>{% if not loop.last %}, {% endif %}{% else %}&ndash;{% endfor %}</td></tr>
  {% endfor %}
</table>
{% endif %}
{% else %}<p class="absent">No vocabulary or embedding artifacts in this run.</p>{% endif %}
</section>

<section id="training">
<h2>Training</h2>
{% if report.training %}{% set training = report.training %}
<p>{{ training.epochs }} epochs run{% if training.best_epoch %}; the lowest eval loss was at epoch {{ training.best_epoch }}
(the weights kept when early stopping is on){% endif %}.</p>
{% if images.training %}<img src="{{ images.training }}" alt="Loss and accuracy per epoch">{% endif %}
<table id="history">
  <tr><th class="num">epoch</th>{% for name in history_columns %}<th class="num">{{ name }}</th>{% endfor %}</tr>
  {% for epoch in range(training.epochs) %}
  <tr{% if training.best_epoch == epoch + 1 %} class="best"{% endif %}><td class="num">{{ epoch + 1 }}</td>
  {%- for name in history_columns %}<td class="num">{% if epoch < training.history[name] | length %}{{ training.history[name][epoch] | f4 }}{% endif %}</td>{% endfor %}</tr>
  {% endfor %}
</table>
{% else %}<p class="absent">No training history in this run.</p>{% endif %}
</section>

<section id="evaluation">
<h2>Evaluation (test split)</h2>
{% if evaluation %}
<table id="metrics">
  <tr><th>metric</th><th class="num">{{ evaluation.candidate or "candidate" }}</th>
  {%- if evaluation.baseline %}<th class="num">baseline</th><th class="num">difference</th>{% endif %}</tr>
  {% for name, value in evaluation.candidate_metrics.items() %}
  <tr><td>{{ name }}</td><td class="num" data-metric="{{ name }}" data-model="candidate" data-value="{{ value | exact }}">{{ value | metric }}</td>
  {%- if evaluation.baseline %}{% set base = evaluation.metrics[evaluation.baseline].get(name) %}
  <td class="num" data-metric="{{ name }}" data-model="baseline"{% if base is not none %} data-value="{{ base | exact }}"{% endif %}>{% if base is not none %}{{ base | metric }}{% endif %}</td>
  <td class="num">{% if name in evaluation.diffs %}{{ "%+.4f" | format(evaluation.diffs[name]) }}{% endif %}</td>{% endif %}</tr>
  {% endfor %}
</table>
<div class="figures">
{% if images.confusion %}<div><h3>Confusion matrix</h3><img src="{{ images.confusion }}" alt="Confusion matrix"></div>{% endif %}
{% if images.roc %}<div><h3>ROC curve</h3><img src="{{ images.roc }}" alt="ROC curve"></div>{% endif %}
{% if images.calibration %}<div><h3>Calibration</h3><img src="{{ images.calibration }}" alt="Calibration plot"></div>{% endif %}
</div>
{% if not (images.confusion or images.roc or images.calibration) %}<p class="absent">This evaluation has no plots.</p>{% endif %}

<h3>Comparison with the baseline</h3>
<p id="baseline">{% if evaluation.baseline %}The candidate was evaluated against the baseline model (the latest blessed model)
on the same test data; the table above shows both and the difference.
{% else %}No baseline: no earlier blessed model to compare with.{% endif %}</p>
{% if evaluation.model_locations %}
<table id="models">{% for name, location in evaluation.model_locations.items() %}
<tr><th>{{ "baseline" if name == evaluation.baseline else "candidate" }}</th><td><code>{{ location }}</code></td></tr>{% endfor %}
</table>
{% endif %}

<h3>Blessing</h3>
<p id="blessing"><strong class="{{ 'pass' if evaluation.blessed else ('fail' if evaluation.blessed is false else 'skip') }}">
{% if evaluation.blessed %}BLESSED{% elif evaluation.blessed is false %}NOT BLESSED{% else %}no blessing recorded{% endif %}</strong>
{% if evaluation.validation_ok is not none %}&middot; TFMA validation {{ "passed" if evaluation.validation_ok else "failed" }}{% endif %}</p>
{% if evaluation.checks %}
<table id="checks">
  <tr><th>metric</th><th>condition</th><th class="num">value</th><th>result</th></tr>
  {% for check in evaluation.checks %}
  <tr><td>{{ check.metric }}</td><td><code>{{ check.condition }}</code></td>
  <td class="num">{% if check.value is none %}&ndash;{% elif check.change %}{{ "%+.4f" | format(check.value) }}{% else %}{{ check.value | f4 }}{% endif %}</td>
  <td>{% if check.passed %}<span class="pass">pass</span>{% elif check.passed is false %}<span class="fail">fail</span>{% else %}<span class="skip">not checked</span>{% endif %}</td></tr>
  {% endfor %}
</table>
{% endif %}
{% if evaluation.failures %}<ul id="failures">{% for failure in evaluation.failures %}<li>{{ failure }}</li>{% endfor %}</ul>{% endif %}
{% else %}<p class="absent">No evaluation in this run.</p>{% endif %}
</section>

<section id="canary">
<h2>Canary (the model served by plain TensorFlow)</h2>
{% if report.canary %}{% set canary = report.canary %}
<p id="canary-verdict"><strong class="{{ 'pass' if canary.blessed else 'fail' }}">{{ "PASSED" if canary.blessed else "FAILED: not pushed" }}</strong>
&middot; loaded in {% if canary.load_seconds is not none %}{{ "%.2f" | format(canary.load_seconds) }} s{% else %}&ndash;{% endif %} (limit {{ canary.limits.max_load_seconds }} s)
{%- for name, seconds in canary.batch_seconds.items() %} &middot; {{ name }}: {{ "%.4f" | format(seconds) }} s per batch{% endfor %} (limit {{ canary.limits.max_batch_seconds }} s)</p>
{% if canary.failures %}<ul id="canary-failures">{% for failure in canary.failures %}<li>{{ failure }}</li>{% endfor %}</ul>{% endif %}
<table id="canary-probes">
  <tr><th>probe</th><th class="num">bytes</th><th>expected</th>{% for name in canary.batch_seconds %}<th class="num">{{ name }}</th>{% endfor %}<th>result</th></tr>
  {% for probe in canary.probes %}
  <tr><td>{{ probe.name }}</td><td class="num">{{ probe.bytes | num }}</td><td>{{ probe.expected or "finite, in [0, 1]" }}</td>
  {%- for name in canary.batch_seconds %}<td class="num">{% set value = probe.probabilities.get(name) %}{% if value is string %}{{ value }}{% elif value is not none %}{{ value | f4 }}{% else %}&ndash;{% endif %}</td>{% endfor -%}
  <td>{% if probe.ok %}<span class="pass">pass</span>{% else %}<span class="fail">fail</span>{% endif %}</td></tr>
  {% endfor %}
</table>
{% else %}<p class="absent">No canary in this run.</p>{% endif %}
</section>

<section id="lineage">
<h2>Lineage</h2>
{% set lineage = report.lineage %}
<table id="lineage-summary">
  <tr><th>data</th><td><code>{{ lineage.data or "unknown" }}</code></td></tr>
  <tr><th>span</th><td>{{ lineage.span if lineage.span is not none else "unknown" }}</td></tr>
  <tr><th>input fingerprint</th><td><code>{{ lineage.fingerprint or "unknown" }}</code></td></tr>
  <tr><th>pushed</th><td id="pushed">{% if lineage.pushed %}version <strong>{{ lineage.pushed_version }}</strong> to <code>{{ lineage.pushed_destination }}</code>
  {%- elif lineage.pushed is false %}no (not blessed, refused by the canary, or nothing new){% else %}no push recorded{% endif %}</td></tr>
</table>
<h3>Versions</h3>
<table id="versions">{% for name, version in lineage.versions.items() %}<tr><th>{{ name }}</th><td>{{ version }}</td></tr>{% endfor %}</table>
{% if lineage.steps %}
<h3>Steps</h3>
<table id="steps"><tr><th>step</th><th>state</th><th class="num">execution</th><th class="num">seconds</th></tr>
{% for step in lineage.steps %}<tr><td>{{ step.node }}</td><td>{{ step.state | lower }}</td><td class="num">{{ step.execution_id }}</td>
<td class="num">{% if step.seconds is not none %}{{ "%.1f" | format(step.seconds) }}{% endif %}</td></tr>{% endfor %}
</table>
{% endif %}
<h3>Configuration (execution properties of the steps)</h3>
{% for step, properties in lineage.step_properties.items() %}
<details><summary>{{ step }}</summary>
<table>{% for name, value in properties.items() %}<tr><th>{{ name }}</th><td><pre>{{ value }}</pre></td></tr>{% else %}<tr><td class="absent">no properties</td></tr>{% endfor %}</table>
</details>
{% else %}<p class="absent">Not recorded.</p>{% endfor %}
<h3>Artifacts read</h3>
<table id="artifacts">{% for name, uri in lineage.artifacts %}<tr><th>{{ name }}</th><td><code>{{ uri }}</code></td></tr>{% endfor %}</table>
</section>
</body>
</html>
"""

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>{{ style }}</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ runs | length }} runs, newest first. Generated {{ generated_at }}.</p>
<table id="runs">
  <tr><th>run</th><th class="num">executed</th><th class="num">cached</th>
  {%- for name in metric_names %}<th class="num">{{ name }}</th>{% endfor %}<th>blessing</th><th>pushed version</th><th>report</th></tr>
  {% for run in runs %}
  <tr data-run="{{ run.run_id }}"><td><code>{{ run.run_id }}</code></td><td class="num">{{ run.executed }}</td><td class="num">{{ run.cached }}</td>
  {%- for name in metric_names %}<td class="num">{% if name in run.metrics %}{{ run.metrics[name] | f4 }}{% endif %}</td>{% endfor %}
  <td>{% if run.blessed %}<span class="pass">blessed</span>{% elif run.blessed is false %}<span class="fail">not blessed</span>{% else %}&ndash;{% endif %}</td>
  <td>{{ run.pushed_version or "&ndash;" | safe }}</td>
  <td>{% if run.report_href %}<a href="{{ run.report_href }}">report</a>{% else %}<span class="absent">none</span>{% endif %}</td></tr>
  {% endfor %}
</table>
</body>
</html>
"""
