namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// The thread that owns one connection's <c>ngtcp2_conn</c>: it runs the driver's turns and sleeps until the next
/// datagram, command or timer.
/// </summary>
internal sealed class Ngtcp2ConnectionLoop
{
    private readonly Ngtcp2ConnectionDriver _driver;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false, 20);

    public Ngtcp2ConnectionLoop(Ngtcp2ConnectionDriver driver, string name)
    {
        _driver = driver;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>True once <see cref="Start"/> ran (a background thread that has not started is Unstarted | Background).</summary>
    public bool Started => (_thread.ThreadState & ThreadState.Unstarted) == 0;

    public bool IsAlive => _thread.IsAlive;

    public void Start() => _thread.Start();

    public void Wake()
    {
        if (!_wake.IsSet)
        {
            _wake.Set();
        }
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                _wake.Reset();
                var turn = _driver.RunTurn();
                if (_driver.Finished)
                {
                    break;
                }

                if (turn.WorkLeft)
                {
                    Thread.Yield();
                    continue;
                }

                var now = Ngtcp2Clock.Now();
                if (turn.Deadline > now)
                {
                    _wake.Wait((int)((turn.Deadline - now + 999_999) / 1_000_000));
                }
            }
        }
        finally
        {
            _driver.Teardown();
        }
    }
}
