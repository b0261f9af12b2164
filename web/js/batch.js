/* Batch jobs (OGC API – Processes, run on Dask): start the province QRA, the regrade, the exposure of every hazard
 * source or the rescue coverage gaps as a job, follow its progress, dismiss it, and read its records as a
 * collection (/batches/{run}/items) into the result panel and the map. The job id is kept in the URL-independent
 * session (sessionStorage), so a reload follows it again. */
import { $, esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { clearResult, drawFeatures, exportButtons, fitResult, resultBox, zoomToFeature } from './results.js';
import { state } from './state.js';
import { sortableTable } from './tables.js';
import { sci } from './risk.js';
import { scenarioParams } from './scenario.js';

var POLL_MS = 1000;
var timer = null;

function show(job) {
  $('batch-progress').value = job.progress || 0;
  $('batch-status').textContent = job.status + ' · ' + (job.progress || 0) + '% · ' + (job.message || '');
  $('batch-dismiss').disabled = !(job.status === 'accepted' || job.status === 'running');
  $('batch-start').disabled = job.status === 'accepted' || job.status === 'running';
}

export function follow(jobId) {
  if (timer) { clearTimeout(timer); timer = null; }
  sessionStorage.setItem('batchJob', jobId);
  return getJSON('/jobs/' + encodeURIComponent(jobId)).then(function (job) {
    show(job);
    if (job.status === 'successful') { return results(jobId); }
    if (job.status === 'failed') { status('批量任务失败 batch failed: ' + job.message, true); return null; }
    timer = setTimeout(function () { follow(jobId); }, POLL_MS);
    return null;
  }).catch(function (e) { sessionStorage.removeItem('batchJob'); fail('任务 job', e); });
}

export function start() {
  var id = $('batch-process').value;
  var inputs;
  try { inputs = inputsOf(id); } catch (e) { status(e.message, true); return Promise.resolve(); }
  status('提交批量任务… submitting');
  return getJSON('/processes/' + encodeURIComponent(id) + '/execution', {
    method: 'POST', headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
    body: JSON.stringify({ inputs: inputs })
  }).then(function (job) { status('已受理 job accepted ' + job.jobID); show(job); return follow(job.jobID); })
    .catch(function (e) { fail('提交失败 submit failed', e); });
}

function inputsOf(id) {
  if (id === 'batch-qra') { return { resolution_m: +$('batch-resolution').value, installation: 'existing' }; }
  if (id === 'batch-exposure') { return scenarioParams(); }     // the same scenario as one source's exposure
  if (id === 'batch-coverage') {
    var out = {}, minutes = parseFloat($('batch-minutes').value);
    if ($('batch-incident').value) { out.incident = $('batch-incident').value; }
    if (!isNaN(minutes)) { out.minutes = minutes; }
    return out;
  }
  return {};
}

export function dismiss() {
  var jobId = sessionStorage.getItem('batchJob');
  if (!jobId) { return Promise.resolve(); }
  if (timer) { clearTimeout(timer); timer = null; }
  return getJSON('/jobs/' + encodeURIComponent(jobId), { method: 'DELETE' }).then(function (job) {
    show(job); sessionStorage.removeItem('batchJob'); status('已取消 job dismissed');
  }).catch(function (e) { fail('取消失败 dismiss failed', e); });
}

function qraRow(p) {
  return { f: null, p: p, cells: [p.name || '#' + p.id, sci(p.max_ir_per_year), p.targets_failing, p.fn_region || '—'],
           sortKeys: [p.name, p.max_ir_per_year || 0, p.targets_failing || 0, p.fn_region], cls: p.targets_failing > 0 ? 'fail' : null };
}

function gradeRow(p) {
  return { p: p, cells: [p.id, p.grade_label || '—', p.people_within_500m, p.R], sortKeys: [p.id, p.grade || 9, p.people_within_500m, p.R] };
}

function exposureRow(p) {
  return { p: p, cells: [p.name || '#' + p.id, p.total_population, p.red_population, p.receptor_count,
    p.max_zone_distance_m === null || p.max_zone_distance_m === undefined ? '—' : Math.round(p.max_zone_distance_m)],
    sortKeys: [p.name, p.total_population || 0, p.red_population || 0, p.receptor_count || 0, p.max_zone_distance_m || 0],
    cls: p.red_population > 0 ? 'fail' : null };
}

function coverageRow(p) {
  return { p: p, cells: [p.name || p.id, p.county || '—', p.best_eta_min === null || p.best_eta_min === undefined ? '—' : p.best_eta_min,
    p.covered ? '✓' : '✗ 盲区 gap'], sortKeys: [p.name, p.county, p.best_eta_min === null ? Infinity : p.best_eta_min, p.covered ? 1 : 0],
    cls: p.covered ? null : 'fail' };
}

var n0 = function (v) { return v === null || v === undefined ? '—' : v; };

/* Per batch kind: the panel's title, its summary lines, the records table's columns and rows. */
var KINDS = {
  qra: { title: '全省定量风险 Province QRA (batch)', label: '批量 QRA', row: qraRow,
    cols: ['名称 name', '最大 IR /年', '超标目标 failing', 'F-N 区域'],
    lines: function (s) { return [s.installations + ' 个风险源 installations · ' + s.computed + ' 计算 computed · ' + s.installations_skipped + ' 跳过 skipped',
      s.installations_with_failing_targets + ' 个有超标防护目标 with targets above criterion',
      '全省 F-N province: ' + ((s.province_fn_assessment || {}).region_zh || '—') + ' · 期望死亡 ' + sci(s.province_expected_deaths_per_year) + ' /年']; } },
  regrade: { title: '批量分级 Regrade (batch)', label: '批量分级', row: gradeRow, cols: ['id', '等级 grade', '500 m 内人数', 'R'],
    lines: function (s) { return [s.count + ' 个风险源 sources · ' + s.major_hazard_sources + ' 个重大危险源 major · ' + s.changed_count + ' 个等级变化 changed',
      Object.keys(s.by_grade || {}).map(function (k) { return k + ' ' + s.by_grade[k]; }).join(' · ')]; } },
  exposure: { title: '全省暴露分析 Exposure of every source (batch)', label: '批量暴露', row: exposureRow,
    cols: ['名称 name', '暴露人口 population', '红区人口 red', '受体 receptors', '最远影响 m'],
    lines: function (s) { var red = (s.by_level || {}).red || {};
      return [s.count + ' 个风险源 sources · ' + s.computed + ' 计算 computed · ' + s.sources_skipped + ' 跳过 skipped',
        s.sources_with_receptors_exposed + ' 个有受体暴露 with receptors exposed · 红区 red: ' + n0(red.sources) + ' 个源 sources, ' + n0(red.sum_of_population) + ' 人 people',
        s.note || '']; } },
  coverage: { title: '救援覆盖盲区 Rescue coverage gaps (batch)', label: '批量覆盖', row: coverageRow,
    cols: ['名称 name', '县区 county', '最短到达 min', '覆盖 covered'],
    lines: function (s) { var t = s.totals || {}, worst = (s.counties || [])[0];   // counties: most gaps first
      return [n0(t.features) + ' 个目标 targets · ' + n0(t.gaps) + ' 个盲区 gaps · ' + n0(t.teams_considered) + ' 支队伍 teams' + (s.incident ? ' · ' + s.incident : ''),
        worst && worst.gaps ? '盲区最多 most gaps: ' + worst.county + ' (' + worst.gaps + ' / ' + worst.features + ')' : '']; } }
};

function results(jobId) {
  return getJSON('/jobs/' + encodeURIComponent(jobId) + '/results').then(function (doc) {
    var res = doc.result, s = res.summary;
    return getJSON(res.records.href + '?limit=2000').then(function (page) {
      clearResult();
      state.result = page; state.analysis = null;
      var kind = KINDS[s.kind] || KINDS.regrade;
      var box = resultBox('batch', kind.title);
      var lines = kind.lines(s).filter(function (l) { return l; });
      lines.push(s.partitions + ' 个分区 partitions (' + s.ran + ' 计算 ran, ' + s.skipped + ' 续用 reused) · ' + s.scheduler + ' · ' + s.seconds + ' s');
      box.insertAdjacentHTML('beforeend', lines.map(function (l) { return '<div class="muted">' + esc(l) + '</div>'; }).join(''));
      box.insertAdjacentHTML('beforeend', '<div class="muted">' + esc('记录 records: ' + page.numberReturned + ' / ' + RiskMap.matchedText(page)) + '</div>');
      drawFeatures(page, kind.label, {});
      var rows = page.features.map(function (f) { var r = kind.row(f.properties); r.f = f; return r; });
      var t = sortableTable(kind.cols, rows, function (r) {
        zoomToFeature(s.kind === 'coverage' ? r.p.layer : 'hazard_sources', r.f); });
      t.classList.add('batch-records');
      box.appendChild(t);
      state.table = { columns: Object.keys((page.features[0] || {}).properties || {}),
        rows: page.features.map(function (f) { return Object.keys(f.properties).map(function (k) { return f.properties[k]; }); }) };
      exportButtons(true, false);
      fitResult(false, 12);
      status('批量任务完成 batch done');
    });
  }).catch(function (e) { fail('结果读取失败 results failed', e); });
}

export function setupBatch() {
  $('batch-start').addEventListener('click', start);
  $('batch-dismiss').addEventListener('click', dismiss);
  $('batch-process').addEventListener('change', function () {
    var id = $('batch-process').value;
    $('batch-qra-options').hidden = id !== 'batch-qra';
    $('batch-exposure-options').hidden = id !== 'batch-exposure';
    $('batch-coverage-options').hidden = id !== 'batch-coverage';
    if (id === 'batch-coverage' && $('batch-incident').options.length < 2) {   // the rescue panel's incident types
      Array.prototype.forEach.call($('incident').options, function (o) { $('batch-incident').appendChild(o.cloneNode(true)); });
    }
  });
  var pending = sessionStorage.getItem('batchJob');
  if (pending) { follow(pending); }
}
