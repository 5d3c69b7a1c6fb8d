// open_loop.js: one open-loop point for k6 (docs/load-generators.md).
//
// k6's constant-arrival-rate executor starts an iteration every 1/LAB_RATE s whether or not earlier answers
// came back: a free VU takes it at its scheduled instant, and when every VU is busy the iteration is not sent
// late but counted in dropped_iterations (the lab flags such a point: the generator fell behind). So each
// iteration's duration counts from its scheduled start, and a stalled server shows in the percentiles instead
// of slowing the load down (coordinated omission).
//
// The lab reads k6's per-sample stream (--out csv=...), never this summary: labcore/k6_report.py turns the
// iteration_duration samples into a whole histogram that several clients can merge.
//
// Environment (k6's -e): LAB_URL, LAB_HOST (Host header), LAB_ACCEPT, LAB_RATE (requests this client starts
// per LAB_TIME_UNIT_S seconds, default 1: the lab's rate over its N clients is LAB_RATE per N s on each, exact),
// LAB_DURATION_S, LAB_TIMEOUT_S, LAB_PRE_VUS (VUs started before the level), LAB_MAX_VUS.
import http from 'k6/http';

function setting(name) {
  const value = __ENV[name];
  if (value === undefined || value === '') {
    throw new Error(`open_loop.js needs the environment variable ${name}`);
  }
  return value;
}

const timeout = `${Number(setting('LAB_TIMEOUT_S'))}s`;

export const options = {
  discardResponseBodies: true,
  // Only what labcore/k6_report.py reads: the sample stream stays small.
  systemTags: ['status', 'error_code'],
  summaryTrendStats: ['min', 'med', 'p(99)', 'p(99.9)', 'max'],
  scenarios: {
    level: {
      executor: 'constant-arrival-rate',
      rate: Number(setting('LAB_RATE')),
      timeUnit: `${Number(__ENV.LAB_TIME_UNIT_S || 1)}s`,
      duration: `${Number(setting('LAB_DURATION_S'))}s`,
      preAllocatedVUs: Number(setting('LAB_PRE_VUS')),
      maxVUs: Number(setting('LAB_MAX_VUS')),
      // An iteration still waiting at the end may take its whole timeout: it is measured, not cut off.
      gracefulStop: timeout,
    },
  },
};

const url = setting('LAB_URL');
const params = {
  headers: { Host: setting('LAB_HOST'), Accept: setting('LAB_ACCEPT'), Connection: 'keep-alive' },
  timeout,
};

export default function () {
  http.get(url, params);
}
