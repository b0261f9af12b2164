/* Batch jobs (OGC API – Processes, run on Dask): start the province QRA or the regrade as a job, follow its
 * progress, dismiss it, and read its records as a collection (/batches/{run}/items) into the result panel and
 * the map. The job id is kept in the URL-independent session (sessionStorage), so a reload follows it again. */
import { $, esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { clearResult, drawFeatures, exportButtons, fitResult, resultBox, zoomToFeature } from './results.js';
import { state } from './state.js';
import { sortableTable } from './tables.js';
import { sci } from './risk.js';

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
  var inputs = {};
  if (id === 'batch-qra') { inputs = { resolution_m: +$('batch-resolution').value, installation: 'existing' }; }
  status('提交批量任务… submitting');
  return getJSON('/processes/' + encodeURIComponent(id) + '/execution', {
    method: 'POST', headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
    body: JSON.stringify({ inputs: inputs })
  }).then(function (job) { status('已受理 job accepted ' + job.jobID); show(job); return follow(job.jobID); })
    .catch(function (e) { fail('提交失败 submit failed', e); });
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

function results(jobId) {
  return getJSON('/jobs/' + encodeURIComponent(jobId) + '/results').then(function (doc) {
    var res = doc.result, s = res.summary;
    return getJSON(res.records.href + '?limit=2000').then(function (page) {
      clearResult();
      state.result = page; state.analysis = null;
      var qra = s.kind === 'qra';
      var box = resultBox('batch', qra ? '全省定量风险 Province QRA (batch)' : '批量分级 Regrade (batch)');
      var lines = qra ? [s.installations + ' 个风险源 installations · ' + s.computed + ' 计算 computed · ' + s.skipped + ' 跳过 skipped',
        s.installations_with_failing_targets + ' 个有超标防护目标 with targets above criterion',
        '全省 F-N province: ' + ((s.province_fn_assessment || {}).region_zh || '—') + ' · 期望死亡 ' + sci(s.province_expected_deaths_per_year) + ' /年']
        : [s.count + ' 个风险源 sources · ' + s.major_hazard_sources + ' 个重大危险源 major · ' + s.changed_count + ' 个等级变化 changed',
          Object.keys(s.by_grade || {}).map(function (k) { return k + ' ' + s.by_grade[k]; }).join(' · ')];
      lines.push(s.partitions + ' 个分区 partitions (' + s.ran + ' 计算 ran, ' + s.skipped + ' 续用 reused) · ' + s.scheduler + ' · ' + s.seconds + ' s');
      box.insertAdjacentHTML('beforeend', lines.map(function (l) { return '<div class="muted">' + esc(l) + '</div>'; }).join(''));
      box.insertAdjacentHTML('beforeend', '<div class="muted">' + esc('记录 records: ' + page.numberReturned + ' / ' + RiskMap.matchedText(page)) + '</div>');
      drawFeatures(page, qra ? '批量 QRA' : '批量分级', {});
      var rows = page.features.map(function (f) { var r = qra ? qraRow(f.properties) : gradeRow(f.properties); r.f = f; return r; });
      var cols = qra ? ['名称 name', '最大 IR /年', '超标目标 failing', 'F-N 区域'] : ['id', '等级 grade', '500 m 内人数', 'R'];
      var t = sortableTable(cols, rows, function (r) { zoomToFeature('hazard_sources', r.f); });
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
    $('batch-qra-options').hidden = $('batch-process').value !== 'batch-qra';
  });
  var pending = sessionStorage.getItem('batchJob');
  if (pending) { follow(pending); }
}
