<#
.SYNOPSIS
  Start the Py-Polymarket stack (trader, monitor, order tracker with API keys) in the background.

.DESCRIPTION
  A thin wrapper over `polymarket-launch stack start` (docs/OPERATIONS.md), run from the
  repository root so that run/, reports/ and logs/ are the repository's. Returns once every
  process is healthy; stop it with scripts\stop_stack.ps1 -Port <same port>.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File scripts\launch_online_stack.ps1 -Port 8888 -Interval 60 -UseWs -OpenBrowser
#>
param(
    [int]$Port = 8888,
    [double]$Interval = 60,
    [switch]$UseWs,
    [switch]$OpenBrowser,
    [switch]$Live
)
$ErrorActionPreference = 'Stop'
$Root = Split-Path -Parent $PSScriptRoot
Set-Location -LiteralPath $Root

$Python = Join-Path $Root '.venv\Scripts\python.exe'
if (-not (Test-Path -LiteralPath $Python)) { $Python = 'python' }
if ($env:POLYMARKET_PYTHON) { $Python = $env:POLYMARKET_PYTHON }

$StackArgs = @('-m', 'polymarket_bot', 'stack', 'start',
    '--port', "$Port",
    '--interval', $Interval.ToString([System.Globalization.CultureInfo]::InvariantCulture))
if ($UseWs) { $StackArgs += '--use-ws' }
if ($OpenBrowser) { $StackArgs += '--open-browser' }
if ($Live) { $StackArgs += '--live' }

& $Python @StackArgs
exit $LASTEXITCODE
