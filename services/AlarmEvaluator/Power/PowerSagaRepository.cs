using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The power saga's repository over EF Core + Npgsql, plugged into MassTransit's <c>SagaRepository&lt;T&gt;</c>: one
/// transaction per message; the row is read <c>FOR UPDATE</c> (outcomes of one cluster arrive together and would
/// otherwise collide), and the <c>version</c> column still guards every update (a conflict throws, the endpoint's
/// retry handles the message again). The run's pending history lines are written in the same transaction as the row.
/// </summary>
public sealed class PowerSagaRepositoryContextFactory(
    PowerDbContext db, ISagaConsumeContextFactory<PowerDbContext, PowerSagaState> factory, NpgsqlDataSource dataSource, OutboxPublisher publisher)
    : ISagaRepositoryContextFactory<PowerSagaState>, IQuerySagaRepositoryContextFactory<PowerSagaState>, ILoadSagaRepositoryContextFactory<PowerSagaState>
{
    public void Probe(ProbeContext context) => context.Add("persistence", "postgresql-efcore");

    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<PowerSagaState, T>> next)
        where T : class
    {
        // A fresh outbox per attempt: a retried message (concurrency conflict) must not carry the failed attempt's messages.
        var outbox = context.GetOrAddPayload(() => new PowerSagaOutbox());
        outbox.Messages.Clear();
        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        var repositoryContext = new PowerSagaRepositoryContext<T>(db, context, factory, dataSource, outbox);
        await next.Send(repositoryContext);
        await transaction.CommitAsync(context.CancellationToken);
        var written = outbox.Written;
        outbox.Messages.Clear();
        outbox.Written = false;
        if (!written)
            return;
        // Delivered before the message is acknowledged (as MassTransit's in-memory outbox did), so a step's command is out
        // as soon as its row says it was asked. A broker hiccup leaves the rows to the publisher's own loop.
        try
        {
            await publisher.PublishPendingAsync(context.CancellationToken);
        }
        catch (Exception) when (!context.CancellationToken.IsCancellationRequested)
        {
            publisher.Kick();
        }
    }

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<PowerSagaState> query, IPipe<SagaRepositoryQueryContext<PowerSagaState, T>> next)
        where T : class =>
        throw new NotSupportedException("The power saga correlates by id only (ids derive from cluster names)");

    public async Task<T> Execute<T>(Func<LoadSagaRepositoryContext<PowerSagaState>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        await asyncMethod(new PowerSagaQueryContext(db, cancellationToken));

    public async Task<T> Execute<T>(Func<QuerySagaRepositoryContext<PowerSagaState>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        await asyncMethod(new PowerSagaQueryContext(db, cancellationToken));
}

sealed class PowerSagaRepositoryContext<TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<PowerSagaState, TMessage>
    where TMessage : class
{
    readonly PowerDbContext db;
    readonly ConsumeContext<TMessage> context;
    readonly ISagaConsumeContextFactory<PowerDbContext, PowerSagaState> factory;
    readonly NpgsqlDataSource dataSource;
    readonly PowerSagaOutbox outbox;

    public PowerSagaRepositoryContext(PowerDbContext db, ConsumeContext<TMessage> context, ISagaConsumeContextFactory<PowerDbContext, PowerSagaState> factory,
        NpgsqlDataSource dataSource, PowerSagaOutbox outbox)
        : base(context, db)
    {
        this.db = db;
        this.context = context;
        this.factory = factory;
        this.dataSource = dataSource;
        this.outbox = outbox;
    }

    public Task<SagaConsumeContext<PowerSagaState, TMessage>> Add(PowerSagaState instance) =>
        factory.CreateSagaConsumeContext(db, context, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<PowerSagaState, TMessage>> Insert(PowerSagaState instance)
    {
        // Instances are created by Add (then Save); a pre-insert is never configured for this saga.
        var consumeContext = await Add(instance);
        return consumeContext;
    }

    public async Task<SagaConsumeContext<PowerSagaState, TMessage>> Load(Guid correlationId)
    {
        var instance = await db.Sagas
            .FromSql($"SELECT * FROM power_saga WHERE correlation_id = {correlationId} FOR UPDATE")
            .SingleOrDefaultAsync(CancellationToken);
        if (instance is not null)
            await instance.LoadStepsAsync((NpgsqlConnection)db.Database.GetDbConnection(),
                (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction(), CancellationToken);
        return instance is null ? null! : await factory.CreateSagaConsumeContext(db, context, instance, SagaConsumeContextMode.Load);
    }

    public async Task Save(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        sagaContext.Saga.Version = 1;
        db.Sagas.Add(sagaContext.Saga);
        await db.SaveChangesAsync(CancellationToken);
        await WriteHistoryAsync(sagaContext.Saga);
        await WriteOutboxAsync();
    }

    public async Task Update(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        sagaContext.Saga.Version++;
        await db.SaveChangesAsync(CancellationToken);
        await WriteHistoryAsync(sagaContext.Saga);
        await WriteOutboxAsync();
    }

    /// <summary>The transition's messages, in the transaction that saves its row.</summary>
    async Task WriteOutboxAsync()
    {
        if (outbox.Messages.Count == 0)
            return;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction();
        await Outbox.WriteAsync(dataSource, connection, transaction, outbox.Messages, CancellationToken);
        outbox.Messages.Clear();
        outbox.Written = true;
    }

    public async Task Delete(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        db.Sagas.Remove(sagaContext.Saga);
        await db.SaveChangesAsync(CancellationToken);
    }

    public Task Discard(SagaConsumeContext<PowerSagaState> sagaContext) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        db.ChangeTracker.Clear();
        return Task.CompletedTask;
    }

    public Task<SagaConsumeContext<PowerSagaState, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, PowerSagaState instance, SagaConsumeContextMode mode)
        where T : class =>
        factory.CreateSagaConsumeContext(db, consumeContext, instance, mode);

    /// <summary>The transition's history lines, in the transaction that saves its row.</summary>
    async Task WriteHistoryAsync(PowerSagaState saga)
    {
        if (saga.Run is not { } run || run.Journal.Count == 0)
            return;
        await PowerHistory.WriteAsync((NpgsqlConnection)db.Database.GetDbConnection(),
            (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction(), run.Journal, CancellationToken);
        run.Journal.Clear();
    }
}

sealed class PowerSagaQueryContext(PowerDbContext db, CancellationToken cancellationToken)
    : BasePipeContext(cancellationToken), QuerySagaRepositoryContext<PowerSagaState>, LoadSagaRepositoryContext<PowerSagaState>
{
    public async Task<PowerSagaState> Load(Guid correlationId)
    {
        var instance = await db.Sagas.AsNoTracking().SingleOrDefaultAsync(x => x.CorrelationId == correlationId, CancellationToken);
        if (instance is not null)
            await db.LoadStepsAsync(instance, CancellationToken);
        return instance!;
    }

    public async Task<SagaRepositoryQueryContext<PowerSagaState>> Query(ISagaQuery<PowerSagaState> query, CancellationToken cancellationToken = default)
    {
        var ids = await db.Sagas.AsNoTracking().Where(query.FilterExpression).Select(x => x.CorrelationId).ToListAsync(cancellationToken);
        return new DefaultSagaRepositoryQueryContext<PowerSagaState>(this, ids);
    }
}

/// <summary>The messages a transition emits (<c>PowerActivities.Emit</c>), written to the outbox with its row.</summary>
public sealed class PowerSagaOutbox
{
    public List<object> Messages { get; } = [];

    /// <summary>Rows were written in this message's transaction: the publisher is kicked after the commit.</summary>
    public bool Written { get; set; }
}

/// <summary>Wraps a message and a saga row for the state machine.</summary>
public sealed class PowerSagaConsumeContextFactory : ISagaConsumeContextFactory<PowerDbContext, PowerSagaState>
{
    public Task<SagaConsumeContext<PowerSagaState, T>> CreateSagaConsumeContext<T>(PowerDbContext context, ConsumeContext<T> consumeContext,
        PowerSagaState instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult<SagaConsumeContext<PowerSagaState, T>>(new DefaultSagaConsumeContext<PowerSagaState, T>(consumeContext, instance));
}
