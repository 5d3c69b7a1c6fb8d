-- report.lua: wrk done() hook that writes ONE JSON object describing the run.
--
-- Use directly for non-pipelined runs:   wrk --latency -s report.lua URL
-- pipeline.lua loads this file with dofile(), so pipelined runs report the same way.
--
-- Output (docs/design.md, "<stem>.json"):
--   {"requests": N, "duration_us": N, "bytes": N,
--    "errors": {"connect": N, "read": N, "write": N, "status": N, "timeout": N},
--    "latency_us": {"min": N, "max": N, "mean": X, "stdev": X,
--                   "percentiles": {"50": N, "75": N, "90": N, "99": N, "99.9": N, "99.99": N}}}
--
-- Destination: the file named by the environment variable WRK_REPORT_JSON; when it is unset, the object is
-- printed to stdout after a line "----- wrk-report-json -----".
--
-- The object is valid JSON in every case: with zero recorded latencies wrk's latency.min is UINT64_MAX and
-- other values may be NaN, so every number goes through json_number(), which writes 0 for NaN/inf and the
-- min is forced to 0 when nothing was recorded.

local REPORT_MARKER = "----- wrk-report-json -----"
local PERCENTILES = { "50", "75", "90", "99", "99.9", "99.99" }

local function finite_or_zero(x)
   x = tonumber(x) or 0
   if x ~= x or x == math.huge or x == -math.huge then
      return 0
   end
   return x
end

local function json_number(x)
   x = finite_or_zero(x)
   if x == math.floor(x) and math.abs(x) < 2 ^ 53 then
      return string.format("%d", x)
   end
   return string.format("%.17g", x)
end

local function json_object(pairs_list)
   local parts = {}
   for _, kv in ipairs(pairs_list) do
      parts[#parts + 1] = string.format("%q: %s", kv[1], kv[2])
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function wrk_report_json(summary, latency)
   local errors = summary.errors or {}
   local min, max = finite_or_zero(latency.min), finite_or_zero(latency.max)
   if min > max then
      -- nothing recorded: wrk keeps min at its initial UINT64_MAX
      min = 0
   end

   local percentiles = {}
   for _, p in ipairs(PERCENTILES) do
      percentiles[#percentiles + 1] = { p, json_number(latency:percentile(tonumber(p))) }
   end

   return json_object({
      { "requests", json_number(summary.requests) },
      { "duration_us", json_number(summary.duration) },
      { "bytes", json_number(summary.bytes) },
      { "errors", json_object({
         { "connect", json_number(errors.connect) },
         { "read", json_number(errors.read) },
         { "write", json_number(errors.write) },
         { "status", json_number(errors.status) },
         { "timeout", json_number(errors.timeout) },
      }) },
      { "latency_us", json_object({
         { "min", json_number(min) },
         { "max", json_number(max) },
         { "mean", json_number(latency.mean) },
         { "stdev", json_number(latency.stdev) },
         { "percentiles", json_object(percentiles) },
      }) },
   })
end

function done(summary, latency, requests)
   local text = wrk_report_json(summary, latency) .. "\n"
   local path = os.getenv("WRK_REPORT_JSON")
   if path == nil or path == "" then
      io.write(REPORT_MARKER .. "\n" .. text)
      io.flush()
      return
   end
   local f, err = io.open(path, "w")
   if f == nil then
      io.stderr:write("report.lua: cannot write " .. path .. ": " .. tostring(err) .. "\n")
      os.exit(3)
   end
   f:write(text)
   f:close()
end
