"""Every exam now has a course (0005): the column may be NOT NULL. A migration of its own, since
PostgreSQL cannot alter a table in the transaction that just wrote to it (pending triggers)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("exams", "0005_every_exam_in_a_course")]

    operations = [
        migrations.AlterField(
            model_name="exam",
            name="course",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="exams", to="exams.course"
            ),
        ),
    ]
