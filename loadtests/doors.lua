-- Door rush for wrk: one thread = one door = one keep-alive connection.
--
--   wrk -t D -c D -d 10s --timeout 30s -s loadtests/doors.lua http://127.0.0.1:PORT
--
-- Settings come from the environment (python -m loadtests.doorrush sets them):
--   RC_PATH     the check-in path, /api/v2/sessions/<id>/attendance/checkin
--   RC_API_KEY  the API key sent in the API-Key header
--   RC_RUN      the run's prefix for badge ids (RUN-B0000042) and external ids (RUN-E0000042)
--   RC_KEYS     the prefix of idempotency keys (KEYS-K0000042), unique per session
--   RC_N        number of attendees; door t scans badges t, t+D, t+2D, ... below N
--   RC_DOORS    D, the thread count given to wrk
--   RC_OUT      file the answers are written to, one line per answered scan:
--               "idx status seq in_room t_sent t_answer reason match attempts"
--               t_* are CLOCK_MONOTONIC seconds (the dashboards use the same clock),
--               then one line per door: "door tid next_idx attempts" (attempts > 0: the
--               door was cut off waiting for that badge's answer), then the wrk summary.
--
-- A door sends its current badge until it gets an answer. wrk calls request() again after a
-- broken connection, so the same badge goes out again with the same idempotency key, as a
-- real scanner would retry. Only an answer moves the door to its next badge. When a door runs
-- out of badges it stops its thread (sending one harmless GET it never reads).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } rc_timespec;
int clock_gettime(int clk_id, rc_timespec *tp);
]]
local ts = ffi.new("rc_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local path = os.getenv("RC_PATH") or "/api/v2/sessions/x/attendance/checkin"
local api_key = os.getenv("RC_API_KEY") or ""
local run = os.getenv("RC_RUN") or "run"
local keys = os.getenv("RC_KEYS") or run
local n = tonumber(os.getenv("RC_N") or "1000")
local doors = tonumber(os.getenv("RC_DOORS") or "1")
local out_path = os.getenv("RC_OUT") or "doors.out"

-- setup/done phase (main state) ---------------------------------------------------------
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local f = assert(io.open(out_path, "w"))
  for _, t in ipairs(threads) do
    local lines = t:get("out")
    for i = 1, #lines do
      f:write(lines[i], "\n")
    end
    f:write(string.format("door %d %d %d\n", t:get("tid"), t:get("cur"), t:get("attempts")))
  end
  f:write(string.format("wrk %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  f:close()
end

-- running phase (one state per thread) --------------------------------------------------
tid = 0
cur = 0
attempts = 0
out = {}
local t_sent = nil
local req = nil
local expect = nil
local stopped = false

function init(args)
  cur = tid
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["API-Key"] = api_key
end

local function build(idx)
  expect = string.format('"%s-E%07d"', run, idx)
  local body = string.format(
    '{"badge_id":"%s-B%07d","idempotency_key":"%s-K%07d","source":"scan"}', run, idx, keys, idx)
  return wrk.format("POST", path, nil, body)
end

function request()
  if cur >= n then
    if not stopped then
      stopped = true
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz", nil, nil)
  end
  if req == nil then
    req = build(cur)
    t_sent = now()
    attempts = 0
  end
  attempts = attempts + 1
  return req
end

function response(status, headers, body)
  if req == nil then
    return -- the stray /healthz of a door that ran out
  end
  local t1 = now()
  local seq = string.match(body, '"seq":(%d+)') or "-"
  local in_room = string.match(body, '"in_room":(%d+)') or "-"
  local reason = string.match(body, '"reason":"([%w_]+)"') or "-"
  local match = 0
  if string.find(body, expect, 1, true) then
    match = 1
  end
  out[#out + 1] = string.format("%d %d %s %s %.6f %.6f %s %d %d", cur, status, seq, in_room,
    t_sent, t1, reason, match, attempts)
  cur = cur + doors
  attempts = 0
  req = nil
end
