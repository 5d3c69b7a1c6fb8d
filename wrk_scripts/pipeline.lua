-- pipeline.lua: HTTP pipelining for wrk, plus the JSON report of report.lua.
--
--   wrk --latency -s pipeline.lua URL -- 16        (depth from the first script argument)
--   WRK_PIPELINE_DEPTH=16 wrk --latency -s pipeline.lua URL
--
-- init() builds one string holding DEPTH copies of the request (wrk.format() with the method, path and -H
-- headers given to wrk) and request() returns it, so every send writes DEPTH requests. wrk then records
-- ONE latency sample per batch (when the last response of the batch arrives): latency figures of a
-- pipelined run are per batch, not per request. Request counts are per request.
--
-- wrk loads this file into the main Lua state and into each thread's state; init()/request() run in the
-- thread states, done() (from report.lua) runs in the main state.

local DEFAULT_DEPTH = 16

local function script_dir()
   local source = debug.getinfo(1, "S").source
   return source:match("^@(.*[/\\])") or "./"
end

dofile(script_dir() .. "report.lua")

local pipelined_request = nil

function init(args)
   local depth = tonumber(args and args[1]) or tonumber(os.getenv("WRK_PIPELINE_DEPTH")) or DEFAULT_DEPTH
   depth = math.floor(depth)
   if depth < 1 then
      depth = 1
   end
   pipelined_request = string.rep(wrk.format(), depth)
end

function request()
   return pipelined_request
end
