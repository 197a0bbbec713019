-- The library environment of Redis 7.0 functions, run once in the
-- functions' Lua state (after prelude.lua) with the real globals as its
-- environment. It receives the scripts' read-only globals and the
-- load-time `redis` API (register_function, log, the LOG_* levels, the
-- version).
--
-- Every library's code, and so every function it registers, runs in
-- `lib_env`: an empty proxy whose metatable refuses writes and reads
-- from `lib_meta.__index`. Rust points that at `load_api` while a
-- library loads (only the load-time API exists then, anything else is
-- a nonexistent global) and at the scripts' globals otherwise, as Redis
-- swaps the globals' __index around FUNCTION LOAD.
local script_env, load_redis = ...
local error_, tostring_, setmetatable_ = error, tostring, setmetatable
local READONLY = 'Attempt to modify a readonly table'

local function refuse_write()
  error_(READONLY, 2)
end

-- A read-only view of `t` where a missing name is an error.
local function strict_readonly(t)
  return setmetatable_({}, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then
        error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
      end
      return v
    end,
    __newindex = refuse_write,
    __metatable = false,
  })
end

local load_api = strict_readonly({ redis = strict_readonly(load_redis) })
local lib_meta = { __index = script_env, __newindex = refuse_write, __metatable = false }
local lib_env = setmetatable_({}, lib_meta)

return lib_env, lib_meta, load_api
