namespace PowerEvents.Console.Auth;

/// <summary>viewer: looks; operator: also acts on clusters; admin: an operator who also manages accounts.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public const string OperatePolicy = "operate";
    public const string AdminPolicy = "admin";

    public static bool IsValid(string role) => role is Viewer or Operator or Admin;
}
