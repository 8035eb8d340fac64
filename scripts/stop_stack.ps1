<#
.SYNOPSIS
  Stop the Py-Polymarket stack started by launch_online_stack.ps1.

.DESCRIPTION
  A thin wrapper over `polymarket-launch stack stop` (docs/OPERATIONS.md): stops exactly the
  processes recorded in run\stack.json (CTRL_BREAK, then forced after -Timeout seconds) and
  removes stale pid files. Without -Port it stops whatever stack run\stack.json records; with
  it, only a stack serving that port.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File scripts\stop_stack.ps1 -Port 8888
#>
param(
    [int]$Port = 8888,
    [double]$Timeout = 30
)
$ErrorActionPreference = 'Stop'
$Root = Split-Path -Parent $PSScriptRoot
Set-Location -LiteralPath $Root

$Python = Join-Path $Root '.venv\Scripts\python.exe'
if (-not (Test-Path -LiteralPath $Python)) { $Python = 'python' }
if ($env:POLYMARKET_PYTHON) { $Python = $env:POLYMARKET_PYTHON }

$StackArgs = @('-m', 'polymarket_bot', 'stack', 'stop',
    '--timeout', $Timeout.ToString([System.Globalization.CultureInfo]::InvariantCulture))
if ($PSBoundParameters.ContainsKey('Port')) { $StackArgs += @('--port', "$Port") }

& $Python @StackArgs
exit $LASTEXITCODE
