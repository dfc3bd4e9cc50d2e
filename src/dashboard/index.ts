// The observability entry point (`bpfkit/dashboard`): metrics collector, Prometheus rendering, HTTP dashboard.
export { collectSnapshot, MetricsCollector, parseMapSelector, selectorText, snapshotJson, type CollectorOptions, type MapSelector, type MapSample, type MapValueRow, type MapValues, type ProgramSample, type Snapshot } from './metrics.js';
export { METRIC_PREFIX, snapshotFamilies } from './families.js';
export { ConflictingFamilyError, DuplicateSeriesError, escapeHelp, escapeLabelValue, EXPOSITION_CONTENT_TYPE, formatSampleValue, renderExposition, sanitizeLabelName, sanitizeMetricName, type MetricFamily, type MetricType, type Sample, type SampleValue } from './prometheus.js';
export { ExpositionParseError, parseExposition, type ParsedFamily, type ParsedSample } from './exposition-parse.js';
export { addValues, btfNumericFields, MAX_FIELDS, readNumericField, readNumericFields, sizedNumericFields, type NumericField } from './map-values.js';
export { NoSuchMapError, NonNumericMapError } from './errors.js';
export { DashboardServer, ListenError, type DashboardOptions } from './server.js';
export { dashboardPage, type DashboardPage } from './page.js';
export { addDropCounts, dropSamples, isDropCounter, type DropReasonCount } from './drops.js';
