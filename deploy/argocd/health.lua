-- Argo CD health check for kdap's ModelDeployment (mlops.kdap.io/v1alpha1), in Lua 5.1 as Argo CD runs it.
-- Install: the key resource.customizations.health.mlops.kdap.io_ModelDeployment in argocd-cm
-- (the kustomize Component in this folder puts this file there). Phases map to Argo CD verdicts:
--   Promoted -> Healthy; Pending, Progressing -> Progressing; Paused (a gate or a manual pause) -> Suspended;
--   RolledBack, Degraded (aborted by hand), Failed, a spec the operator refused -> Degraded.
-- A spec the operator has not yet observed (observedGeneration behind metadata.generation) is Progressing,
-- so a sync is never reported Healthy on the previous revision's status.
local hs = { status = "Progressing", message = "Waiting for the operator to report a status" }
local st = obj.status
if st == nil or st.observedGeneration == nil then
  return hs
end

local function condition(kind)
  if st.conditions == nil then
    return nil
  end
  for _, c in ipairs(st.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local generation = obj.metadata.generation
if generation ~= nil and st.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local refused = condition("SpecValid")
if refused ~= nil and refused.status == "False" then
  hs.status = "Degraded"
  hs.message = (refused.reason or "InvalidSpec") .. ": " .. (refused.message or "")
  return hs
end

local phase = st.phase
hs.message = st.message or ""
if phase == "Promoted" then
  local backend = condition("BackendHealthy")
  if backend ~= nil and backend.status == "False" then
    -- The operator retries with a backoff; until it succeeds the serving state is not confirmed.
    hs.message = (backend.reason or "BackendError") .. ": " .. (backend.message or "")
    return hs
  end
  hs.status = "Healthy"
elseif phase == "Paused" then
  hs.status = "Suspended"
elseif phase == "RolledBack" or phase == "Degraded" or phase == "Failed" then
  hs.status = "Degraded"
  local stalled = condition("Stalled")
  if stalled ~= nil and stalled.status == "True" and stalled.reason ~= nil then
    hs.message = phase .. " (" .. stalled.reason .. "): " .. hs.message
  end
end
return hs
