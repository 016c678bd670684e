from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exam_sessions", "0011_results_release"),
    ]

    operations = [
        migrations.AddField(
            model_name="examsession",
            name="drawn_questions",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
