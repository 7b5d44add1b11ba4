using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The power saga's repository over EF Core + Npgsql, plugged into MassTransit's <c>SagaRepository&lt;T&gt;</c>: one
/// transaction per message; the row is read <c>FOR UPDATE</c> (outcomes of one cluster arrive together and would
/// otherwise collide), and the <c>version</c> column still guards every update (a conflict throws, the endpoint's
/// retry handles the message again). The run's pending history lines are written in the same transaction as the row.
/// </summary>
public sealed class PowerSagaRepositoryContextFactory(PowerDbContext db, ISagaConsumeContextFactory<PowerDbContext, PowerSagaState> factory)
    : ISagaRepositoryContextFactory<PowerSagaState>, IQuerySagaRepositoryContextFactory<PowerSagaState>, ILoadSagaRepositoryContextFactory<PowerSagaState>
{
    public void Probe(ProbeContext context) => context.Add("persistence", "postgresql-efcore");

    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<PowerSagaState, T>> next)
        where T : class
    {
        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        var repositoryContext = new PowerSagaRepositoryContext<T>(db, context, factory);
        await next.Send(repositoryContext);
        await transaction.CommitAsync(context.CancellationToken);
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

    public PowerSagaRepositoryContext(PowerDbContext db, ConsumeContext<TMessage> context, ISagaConsumeContextFactory<PowerDbContext, PowerSagaState> factory)
        : base(context, db)
    {
        this.db = db;
        this.context = context;
        this.factory = factory;
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
        return instance is null ? null! : await factory.CreateSagaConsumeContext(db, context, instance, SagaConsumeContextMode.Load);
    }

    public async Task Save(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        sagaContext.Saga.Version = 1;
        db.Sagas.Add(sagaContext.Saga);
        AddHistory(sagaContext.Saga);
        await db.SaveChangesAsync(CancellationToken);
    }

    public async Task Update(SagaConsumeContext<PowerSagaState> sagaContext)
    {
        sagaContext.Saga.Version++;
        AddHistory(sagaContext.Saga);
        await db.SaveChangesAsync(CancellationToken);
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

    void AddHistory(PowerSagaState saga)
    {
        if (saga.Run is not { } run)
            return;
        db.History.AddRange(run.Journal.Select(e => new PowerRunHistoryRow
        {
            RunId = e.RunId, Cluster = e.Cluster, At = e.At, Step = e.Step, Target = e.Target, Outcome = e.Outcome, Detail = e.Detail,
        }));
        run.Journal.Clear();
    }
}

sealed class PowerSagaQueryContext(PowerDbContext db, CancellationToken cancellationToken)
    : BasePipeContext(cancellationToken), QuerySagaRepositoryContext<PowerSagaState>, LoadSagaRepositoryContext<PowerSagaState>
{
    public async Task<PowerSagaState> Load(Guid correlationId) =>
        (await db.Sagas.AsNoTracking().SingleOrDefaultAsync(x => x.CorrelationId == correlationId, CancellationToken))!;

    public async Task<SagaRepositoryQueryContext<PowerSagaState>> Query(ISagaQuery<PowerSagaState> query, CancellationToken cancellationToken = default)
    {
        var ids = await db.Sagas.AsNoTracking().Where(query.FilterExpression).Select(x => x.CorrelationId).ToListAsync(cancellationToken);
        return new DefaultSagaRepositoryQueryContext<PowerSagaState>(this, ids);
    }
}

/// <summary>Wraps a message and a saga row for the state machine.</summary>
public sealed class PowerSagaConsumeContextFactory : ISagaConsumeContextFactory<PowerDbContext, PowerSagaState>
{
    public Task<SagaConsumeContext<PowerSagaState, T>> CreateSagaConsumeContext<T>(PowerDbContext context, ConsumeContext<T> consumeContext,
        PowerSagaState instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult<SagaConsumeContext<PowerSagaState, T>>(new DefaultSagaConsumeContext<PowerSagaState, T>(consumeContext, instance));
}
